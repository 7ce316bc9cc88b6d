package rbacpolicy

import (
	"context"
	"fmt"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/component-helpers/auth/rbac/reconciliation"
	"k8s.io/klog/v2"
)

// Ensure makes one pass over the bootstrap policy, as kube-apiserver's
// rbac/bootstrap-roles post-start hook does: ClusterRoles,
// ClusterRoleBindings and the namespaced Roles and RoleBindings (creating
// kube-system and kube-public if need be), reconciled concurrently.
// Missing objects are created. Existing ones, unless annotated rbac.authorization.kubernetes.io/autoupdate
// "false", gain the missing labels, annotations, rules, aggregation selectors
// and subjects, and nothing is removed; a binding whose roleRef differs is
// recreated. Conflicts and ServiceUnavailable errors are retried per object.
// Ensure goes on past an object that fails and returns every failure
// together; the caller retries the whole pass until it succeeds.
func Ensure(ctx context.Context, client kubernetes.Interface) error {
	rbac, namespaces := client.RbacV1(), client.CoreV1().Namespaces()
	// One LIST per kind instead of one GET per object: on a fresh server
	// every GET would answer NotFound, on a restart every object is
	// usually up to date already.
	l, err := list(ctx, rbac)
	if err != nil {
		return err
	}
	var tasks []func() error
	for _, role := range ClusterRoles() {
		tasks = append(tasks, func() error {
			m := &listedRoleModifier{RuleOwnerModifier: reconciliation.ClusterRoleModifier{Client: rbac.ClusterRoles()}, gr: rbacv1.Resource("clusterroles")}
			if o := l.clusterRoles[role.Name]; o != nil {
				m.first = reconciliation.ClusterRoleRuleOwner{ClusterRole: o}
			}
			return ensureRole(ctx, "ClusterRole", role.Name, reconciliation.ReconcileRoleOptions{
				Role:    reconciliation.ClusterRoleRuleOwner{ClusterRole: &role},
				Client:  m,
				Confirm: true,
			})
		})
	}
	for _, binding := range ClusterRoleBindings() {
		tasks = append(tasks, func() error {
			m := &listedBindingModifier{RoleBindingModifier: reconciliation.ClusterRoleBindingClientAdapter{Client: rbac.ClusterRoleBindings()}, gr: rbacv1.Resource("clusterrolebindings")}
			if o := l.clusterRoleBindings[binding.Name]; o != nil {
				m.first = reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: o}
			}
			return ensureBinding(ctx, "ClusterRoleBinding", binding.Name, reconciliation.ReconcileRoleBindingOptions{
				RoleBinding: reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &binding},
				Client:      m,
				Confirm:     true,
			})
		})
	}
	for _, role := range Roles() {
		tasks = append(tasks, func() error {
			m := &listedRoleModifier{RuleOwnerModifier: reconciliation.RoleModifier{Client: rbac, NamespaceClient: namespaces}, gr: rbacv1.Resource("roles")}
			if o := l.roles[key(role.Namespace, role.Name)]; o != nil {
				m.first = reconciliation.RoleRuleOwner{Role: o}
			}
			return ensureRole(ctx, "Role", role.Namespace+"/"+role.Name, reconciliation.ReconcileRoleOptions{
				Role:    reconciliation.RoleRuleOwner{Role: &role},
				Client:  m,
				Confirm: true,
			})
		})
	}
	for _, binding := range RoleBindings() {
		tasks = append(tasks, func() error {
			m := &listedBindingModifier{RoleBindingModifier: reconciliation.RoleBindingClientAdapter{Client: rbac, NamespaceClient: namespaces}, gr: rbacv1.Resource("rolebindings")}
			if o := l.roleBindings[key(binding.Namespace, binding.Name)]; o != nil {
				m.first = reconciliation.RoleBindingAdapter{RoleBinding: o}
			}
			return ensureBinding(ctx, "RoleBinding", binding.Namespace+"/"+binding.Name, reconciliation.ReconcileRoleBindingOptions{
				RoleBinding: reconciliation.RoleBindingAdapter{RoleBinding: &binding},
				Client:      m,
				Confirm:     true,
			})
		})
	}
	return runParallel(tasks, ensureWorkers)
}

// ensureWorkers bounds the concurrent reconciles: each object is
// independent (a binding may name a role that does not exist yet), and one
// at a time would make a fresh server wait on a hundred etcd round trips.
const ensureWorkers = 16

// runParallel runs tasks on at most workers goroutines and returns every
// error together.
func runParallel(tasks []func() error, workers int) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan func() error)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for task := range next {
				if err := task(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, task := range tasks {
		next <- task
	}
	close(next)
	wg.Wait()
	return utilerrors.NewAggregate(errs)
}

// retriable errors are those of a write that lost a race, or of a server
// briefly refusing writes (while storage versions are updated).
func retriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsServiceUnavailable(err)
}

// ensureRole reconciles one Role or ClusterRole; key names it in logs and errors.
func ensureRole(ctx context.Context, kind, key string, opts reconciliation.ReconcileRoleOptions) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reconcile %s %s: %w", kind, key, err)
	}
	var result *reconciliation.ReconcileClusterRoleResult
	err := retry.OnError(retry.DefaultBackoff, retriable, func() error {
		var err error
		result, err = opts.Run()
		return err
	})
	if err != nil {
		return fmt.Errorf("reconcile %s %s: %w", kind, key, err)
	}
	logResult(ctx, kind, key, result.Operation, result.Protected, "missingRules", result.MissingRules)
	return nil
}

// ensureBinding reconciles one RoleBinding or ClusterRoleBinding.
func ensureBinding(ctx context.Context, kind, key string, opts reconciliation.ReconcileRoleBindingOptions) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reconcile %s %s: %w", kind, key, err)
	}
	var result *reconciliation.ReconcileClusterRoleBindingResult
	err := retry.OnError(retry.DefaultBackoff, retriable, func() error {
		var err error
		result, err = opts.Run()
		return err
	})
	if err != nil {
		return fmt.Errorf("reconcile %s %s: %w", kind, key, err)
	}
	logResult(ctx, kind, key, result.Operation, result.Protected, "missingSubjects", result.MissingSubjects)
	return nil
}

func logResult(ctx context.Context, kind, key string, op reconciliation.ReconcileOperation, protected bool, missingKey string, missing any) {
	logger := klog.FromContext(ctx).WithValues("kind", kind, "name", key, "group", rbacv1.GroupName)
	switch {
	case protected && op != reconciliation.ReconcileNone:
		logger.Info("Skipped reconcile-protected bootstrap RBAC object", missingKey, missing)
	case op == reconciliation.ReconcileUpdate:
		logger.V(1).Info("Updated bootstrap RBAC object", missingKey, missing)
	case op == reconciliation.ReconcileRecreate:
		logger.V(1).Info("Recreated bootstrap RBAC object with a new roleRef")
	case op == reconciliation.ReconcileCreate:
		logger.V(1).Info("Created bootstrap RBAC object")
	}
}
