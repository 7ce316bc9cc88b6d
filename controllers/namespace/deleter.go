package namespace

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/discovery"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/controllers/internal/discoveryset"
)

// finalizerToken is the spec.finalizers entry this controller owns.
const finalizerToken = corev1.FinalizerKubernetes

// finalizerEstimateSeconds is how long objects with finalizers are assumed
// to take to go away (upstream's default estimate).
const finalizerEstimateSeconds int64 = 15

// ResourcesRemainingError says the namespace still holds objects being
// deleted; retry after about Estimate seconds.
type ResourcesRemainingError struct {
	Estimate int64
}

func (e *ResourcesRemainingError) Error() string {
	return fmt.Sprintf("some content remains in the namespace, estimate %d seconds before it is removed", e.Estimate)
}

// RequeueAfter is when the controller looks again (upstream: estimate/2+1s).
func (e *ResourcesRemainingError) RequeueAfter() time.Duration {
	return time.Duration(e.Estimate/2+1) * time.Second
}

// Deleter removes a terminating namespace's content and finalizes it.
type Deleter struct {
	Namespaces typedcorev1.NamespaceInterface
	Pods       typedcorev1.PodsGetter
	Metadata   metadata.Interface
	Discovery  discovery.DiscoveryInterface
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (d *Deleter) now() metav1.Time {
	if d.Now != nil {
		return metav1.NewTime(d.Now())
	}
	return metav1.Now()
}

// Delete runs one deletion pass over namespace name. It returns nil when
// the namespace is finalized (or not being deleted), a
// *ResourcesRemainingError while content remains, or another error.
func (d *Deleter) Delete(ctx context.Context, name string) error {
	ns, err := d.Namespaces.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	ns, err = d.retryOnConflict(ctx, ns, d.markTerminating)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark namespace %s terminating: %w", name, err)
	}
	if ns.DeletionTimestamp == nil || !hasFinalizerToken(ns) {
		return nil
	}
	estimate, ns, err := d.deleteAllContent(ctx, ns)
	if err != nil {
		return err
	}
	if estimate > 0 {
		return &ResourcesRemainingError{Estimate: estimate}
	}
	_, err = d.retryOnConflict(ctx, ns, d.finalize)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	klog.FromContext(ctx).V(2).Info("Namespace finalized", "namespace", name)
	return nil
}

func hasFinalizerToken(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == finalizerToken {
			return true
		}
	}
	return false
}

func (d *Deleter) retryOnConflict(ctx context.Context, ns *corev1.Namespace, fn func(context.Context, *corev1.Namespace) (*corev1.Namespace, error)) (*corev1.Namespace, error) {
	latest := ns
	for {
		out, err := fn(ctx, latest)
		if err == nil {
			return out, nil
		}
		if !apierrors.IsConflict(err) {
			return nil, err
		}
		prev := latest
		latest, err = d.Namespaces.Get(ctx, ns.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if prev.UID != latest.UID {
			return nil, fmt.Errorf("namespace uid has changed across retries")
		}
	}
}

func (d *Deleter) markTerminating(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	if ns.DeletionTimestamp == nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return ns, nil
	}
	ns = ns.DeepCopy()
	ns.Status.Phase = corev1.NamespaceTerminating
	return d.Namespaces.UpdateStatus(ctx, ns, metav1.UpdateOptions{})
}

func (d *Deleter) finalize(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	ns = ns.DeepCopy()
	kept := ns.Spec.Finalizers[:0]
	for _, f := range ns.Spec.Finalizers {
		if f != finalizerToken {
			kept = append(kept, f)
		}
	}
	ns.Spec.Finalizers = kept
	return d.Namespaces.Finalize(ctx, ns, metav1.UpdateOptions{})
}

// deleteAllContent deletes every namespaced object in ns, records the
// outcome in ns's conditions, and returns an estimate in seconds of how
// long remaining content will take to go (0: nothing remains) and the
// namespace as last written.
func (d *Deleter) deleteAllContent(ctx context.Context, ns *corev1.Namespace) (int64, *corev1.Namespace, error) {
	log := klog.FromContext(ctx)
	conds := newConditionSet()
	var errs []error
	found := discoveryset.Discover(d.Discovery, discoveryset.Options{NamespacedOnly: true, Verbs: []string{"delete"}})
	if found.DiscoveryErr != nil {
		// Not fatal: delete what could be discovered.
		errs = append(errs, found.DiscoveryErr)
		conds.discoveryFailed(found.DiscoveryErr)
	}
	if found.ParseErr != nil {
		errs = append(errs, found.ParseErr)
		conds.groupVersionParsingFailed(found.ParseErr)
	}
	var estimate int64
	var contentErrs []error
	for _, r := range found.Resources {
		res, err := d.deleteResource(ctx, r, ns.Name)
		if err != nil {
			contentErrs = append(contentErrs, err)
			conds.contentFailed(err)
		}
		if res.estimate > estimate {
			estimate = res.estimate
		}
		conds.contentRemains(r.GVR, res.remaining, res.finalizers)
	}
	errs = append(errs, contentErrs...)
	latest := ns.DeepCopy()
	if conds.apply(&latest.Status, d.now()) {
		updated, err := d.Namespaces.UpdateStatus(ctx, latest, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("update namespace %s conditions: %w", ns.Name, err))
		} else {
			ns = updated
		}
	}
	log.V(4).Info("Deleted namespace content", "namespace", ns.Name, "estimate", estimate, "errors", len(errs))
	if len(errs) > 0 {
		return estimate, ns, utilerrors.NewAggregate(errs)
	}
	return estimate, ns, nil
}

type resourceResult struct {
	estimate   int64
	remaining  int
	finalizers map[string]int
}

// deleteResource deletes every r in namespace ns: deletecollection where
// supported, else list and delete one by one; then lists what remains.
func (d *Deleter) deleteResource(ctx context.Context, r discoveryset.Resource, ns string) (resourceResult, error) {
	var out resourceResult
	estimate, err := d.estimateGracefulTermination(ctx, r.GVR, ns)
	if err != nil {
		return out, fmt.Errorf("estimate graceful termination of %s: %w", r.GVR, err)
	}
	client := d.Metadata.Resource(r.GVR).Namespace(ns)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	canList := r.HasVerb("list")
	collected := false
	if r.HasVerb("deletecollection") {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case err == nil:
			collected = true
		case apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err):
		default:
			return out, fmt.Errorf("delete collection of %s: %w", r.GVR, err)
		}
	}
	if !canList {
		return out, nil
	}
	if !collected {
		list, err := client.List(ctx, metav1.ListOptions{})
		if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("list %s: %w", r.GVR, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if item.DeletionTimestamp != nil {
				continue
			}
			err := client.Delete(ctx, item.Name, opts)
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return out, fmt.Errorf("delete %s %s/%s: %w", r.GVR, ns, item.Name, err)
			}
		}
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("list %s: %w", r.GVR, err)
	}
	if len(list.Items) == 0 {
		return out, nil
	}
	out.remaining = len(list.Items)
	out.finalizers = map[string]int{}
	for i := range list.Items {
		for _, f := range list.Items[i].Finalizers {
			out.finalizers[f]++
		}
	}
	out.estimate = estimate
	if estimate != 0 {
		return out, nil
	}
	if len(out.finalizers) > 0 {
		out.estimate = finalizerEstimateSeconds
		return out, nil
	}
	// Nothing holds them: they should be gone.
	return out, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", ns, r.GVR)
}

// estimateGracefulTermination is, for pods, the longest grace period of a
// pod that has not terminated; other resources delete at once.
func (d *Deleter) estimateGracefulTermination(ctx context.Context, gvr schema.GroupVersionResource, ns string) (int64, error) {
	if gvr.Group != "" || gvr.Resource != "pods" || d.Pods == nil {
		return 0, nil
	}
	pods, err := d.Pods.Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	var estimate int64
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > estimate {
			estimate = *g
		}
	}
	return estimate, nil
}
