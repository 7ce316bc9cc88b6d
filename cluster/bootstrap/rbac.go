package bootstrap

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/internal/bootstraptoken"
)

// NodeProxierBinding binds system:node-proxier to the system:nodes group.
const NodeProxierBinding = "skiff:node-proxier"

const (
	nodeProxierRole = "system:node-proxier"
	nodesGroup      = "system:nodes"
)

// EnsureJoinRBAC creates, idempotently, what nodes need to join with a
// bootstrap token and then run their pods and Service proxy:
//
//   - system:bootstrappers → system:node-bootstrapper (create CSRs) and
//     ...:certificatesigningrequests:nodeclient (their client CSRs are
//     auto-approved), system:nodes → ...:selfnodeclient (renewals are
//     auto-approved): kubeadm's three bindings, which
//     bootstraptoken.EnsureRBAC makes under kubeadm's names. Skiff's
//     bootstrap policy (apiserver/bootstrap/rbacpolicy) has the roles but,
//     like upstream's, binds none of them.
//   - system:nodes → system:node-proxier (NodeProxierBinding). kubeadm runs
//     kube-proxy as a DaemonSet with the kube-proxy ServiceAccount bound to
//     that role; a joined Skiff node runs its eBPF proxy in its own process
//     with the node's client certificate, so the node's group needs what
//     the proxy reads (Services, EndpointSlices, all Nodes) beyond what the
//     Node authorizer grants (only the node's own Node). The same grant lets
//     the kubelet's pod-network routes watch the other Nodes. The bootstrap
//     policy's own system:node-proxier binding (user system:kube-proxy) is
//     left alone, as the API server reconciles it.
func EnsureJoinRBAC(ctx context.Context, client kubernetes.Interface) error {
	if err := bootstraptoken.EnsureRBAC(ctx, client); err != nil {
		return fmt.Errorf("ensure join RBAC: %w", err)
	}
	want := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: NodeProxierBinding},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: nodeProxierRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: nodesGroup}},
	}
	if err := ensureClusterRoleBinding(ctx, client, want); err != nil {
		return fmt.Errorf("ensure join RBAC: %w", err)
	}
	return nil
}

// ensureClusterRoleBinding creates want, or completes an existing binding
// of that name with want's subjects; a binding to another role is replaced
// (roleRef is immutable).
func ensureClusterRoleBinding(ctx context.Context, client kubernetes.Interface, want *rbacv1.ClusterRoleBinding) error {
	api := client.RbacV1().ClusterRoleBindings()
	have, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create ClusterRoleBinding %s: %w", want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get ClusterRoleBinding %s: %w", want.Name, err)
	}
	if have.RoleRef != want.RoleRef {
		uid := have.UID
		if err := api.Delete(ctx, want.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replace ClusterRoleBinding %s: %w", want.Name, err)
		}
		if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create ClusterRoleBinding %s: %w", want.Name, err)
		}
		return nil
	}
	subjects := sets.New(have.Subjects...)
	missing := false
	for _, s := range want.Subjects {
		if !subjects.Has(s) {
			have.Subjects = append(have.Subjects, s)
			missing = true
		}
	}
	if !missing {
		return nil
	}
	if _, err := api.Update(ctx, have, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update ClusterRoleBinding %s: %w", want.Name, err)
	}
	return nil
}
