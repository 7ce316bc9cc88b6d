package resourcequota

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	quotaadmission "github.com/skiff-dev/skiff/apiserver/admission/resourcequota"
	"github.com/skiff-dev/skiff/controllers"
)

// ResyncPeriod is how often every quota is recomputed in full
// (--resource-quota-sync-period's default).
const ResyncPeriod = 5 * time.Minute

// Descriptor is the resource quota controller.
var Descriptor = controllers.Descriptor{Name: "resourcequota", Setup: Setup}

// Setup registers the resource quota controller with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{
		Client:     c.Manager.GetClient(),
		Reader:     c.Manager.GetAPIReader(),
		RESTMapper: c.Manager.GetRESTMapper(),
	}
	r.Registry = generic.NewRegistry(quotaadmission.NewConfiguration(ListFromReader(ctx, c.Manager.GetCache())).Evaluators())
	toQuotas := handler.EnqueueRequestsFromMapFunc(r.quotasOf)
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("resourcequota").
		For(&corev1.ResourceQuota{}, builder.WithPredicates(quotaChanged())).
		Watches(&corev1.Pod{}, toQuotas, builder.WithPredicates(usageChanged(podUsageChanged))).
		Watches(&corev1.Service{}, toQuotas, builder.WithPredicates(usageChanged(serviceUsageChanged))).
		Watches(&corev1.PersistentVolumeClaim{}, toQuotas, builder.WithPredicates(usageChanged(pvcUsageChanged))).
		Watches(&corev1.ConfigMap{}, toQuotas, builder.WithPredicates(usageChanged(nil))).
		Watches(&corev1.Secret{}, toQuotas, builder.WithPredicates(usageChanged(nil))).
		Watches(&corev1.ReplicationController{}, toQuotas, builder.WithPredicates(usageChanged(nil))).
		Watches(&corev1.ResourceQuota{}, toQuotas, builder.WithPredicates(usageChanged(nil))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// ListFromReader lists the core/v1 resources the quota evaluators measure
// from r (the manager's cache).
func ListFromReader(ctx context.Context, r client.Reader) quotaadmission.ListFunc {
	return func(resourceName, namespace string) ([]runtime.Object, error) {
		var list client.ObjectList
		switch resourceName {
		case "pods":
			list = &corev1.PodList{}
		case "services":
			list = &corev1.ServiceList{}
		case "persistentvolumeclaims":
			list = &corev1.PersistentVolumeClaimList{}
		case "configmaps":
			list = &corev1.ConfigMapList{}
		case "secrets":
			list = &corev1.SecretList{}
		case "resourcequotas":
			list = &corev1.ResourceQuotaList{}
		case "replicationcontrollers":
			list = &corev1.ReplicationControllerList{}
		default:
			return nil, fmt.Errorf("no lister for %s", resourceName)
		}
		if err := r.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", resourceName, namespace, err)
		}
		return meta.ExtractList(list)
	}
}

// Reconciler recomputes one ResourceQuota's status.
type Reconciler struct {
	// Client reads quotas (cached) and writes their status.
	Client client.Client
	// Reader lists resources no evaluator knows, metadata only, to count
	// them for count/<resource>.<group>.
	Reader client.Reader
	// RESTMapper maps count/<resource>.<group> to a kind.
	RESTMapper meta.RESTMapper
	// Registry holds the usage evaluators.
	Registry quota.Registry
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	q := &corev1.ResourceQuota{}
	if err := r.Client.Get(ctx, req.NamespacedName, q); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	used, err := r.Usage(ctx, q)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("resource quota %s: %w", req.NamespacedName, err)
	}
	hard := quota.Add(corev1.ResourceList{}, q.Spec.Hard)
	if !apiequality.Semantic.DeepEqual(hard, q.Status.Hard) || !quota.Equals(used, q.Status.Used) {
		next := q.DeepCopy()
		next.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: used}
		if err := r.Client.Status().Update(ctx, next); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				return reconcile.Result{Requeue: true}, nil
			}
			return reconcile.Result{}, fmt.Errorf("update status of resource quota %s: %w", req.NamespacedName, err)
		}
		log.V(2).Info("Updated resource quota usage", "used", used)
	}
	return reconcile.Result{RequeueAfter: r.nextRecount(ctx, q.Namespace)}, nil
}

// nextRecount is when usage must be recounted without any event: at the
// full resync, or earlier when a terminating pod's grace period ends (its
// compute resources stop counting then, and nothing changes on the pod).
func (r *Reconciler) nextRecount(ctx context.Context, namespace string) time.Duration {
	next := ResyncPeriod
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(namespace)); err != nil {
		return next
	}
	now := time.Now()
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil {
			continue
		}
		end := p.DeletionTimestamp.Add(time.Duration(*p.DeletionGracePeriodSeconds) * time.Second)
		if d := end.Sub(now) + time.Second; d > 0 && d < next {
			next = d
		}
	}
	return next
}

// Usage measures what q's hard resources use now in its namespace, with
// its scopes: every hard resource gets a value (zero when nothing uses
// it).
func (r *Reconciler) Usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	counted, err := quota.CalculateUsage(q.Namespace, q.Spec.Scopes, q.Spec.Hard, r.Registry, q.Spec.ScopeSelector)
	if err != nil {
		return nil, fmt.Errorf("calculate usage: %w", err)
	}
	used := corev1.ResourceList{}
	for name := range q.Spec.Hard {
		if v, ok := counted[name]; ok {
			used[name] = v
			continue
		}
		n, err := r.countOther(ctx, q.Namespace, name)
		if err != nil {
			return nil, err
		}
		used[name] = *resource.NewQuantity(n, resource.DecimalSI)
	}
	return used, nil
}

// countOther counts objects for a count/<resource>[.<group>] name no
// evaluator knows (metadata only); other names count zero.
func (r *Reconciler) countOther(ctx context.Context, namespace string, name corev1.ResourceName) (int64, error) {
	s, ok := strings.CutPrefix(string(name), "count/")
	if !ok || r.Reader == nil || r.RESTMapper == nil {
		return 0, nil
	}
	gr := schema.ParseGroupResource(s)
	gvk, err := r.RESTMapper.KindFor(gr.WithVersion(""))
	if err != nil {
		return 0, nil // an unknown resource has nothing stored
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := r.Reader.List(ctx, list, client.InNamespace(namespace)); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("count %s: %w", gr, err)
	}
	return int64(len(list.Items)), nil
}

// quotasOf maps a tracked object to the quotas of its namespace.
func (r *Reconciler) quotasOf(ctx context.Context, o client.Object) []reconcile.Request {
	list := &corev1.ResourceQuotaList{}
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List resource quotas", "namespace", o.GetNamespace())
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// quotaChanged passes quota creates and deletes, and updates that change
// spec or leave status out of step with it (a resync is by requeue).
func quotaChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*corev1.ResourceQuota)
			n, ok2 := e.ObjectNew.(*corev1.ResourceQuota)
			if !ok1 || !ok2 {
				return true
			}
			return !apiequality.Semantic.DeepEqual(o.Spec, n.Spec) || !quota.Equals(n.Spec.Hard, n.Status.Hard)
		},
	}
}

// usageChanged passes creates and deletes, and updates for which changed
// (nil: never) reports a change of usage.
func usageChanged(changed func(old, new client.Object) bool) predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return changed != nil && changed(e.ObjectOld, e.ObjectNew)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// podUsageChanged: the pod finished, started terminating, or its resources
// or scope-relevant fields moved (in-place resize included).
func podUsageChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*corev1.Pod)
	n, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 {
		return true
	}
	if o.Status.Phase != n.Status.Phase || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) {
		return true
	}
	if !apiequality.Semantic.DeepEqual(o.Spec.Resources, n.Spec.Resources) || !apiequality.Semantic.DeepEqual(o.Spec.ActiveDeadlineSeconds, n.Spec.ActiveDeadlineSeconds) {
		return true
	}
	if len(o.Spec.Containers) != len(n.Spec.Containers) {
		return true
	}
	for i := range o.Spec.Containers {
		if !apiequality.Semantic.DeepEqual(o.Spec.Containers[i].Resources, n.Spec.Containers[i].Resources) {
			return true
		}
	}
	if len(o.Status.ContainerStatuses) != len(n.Status.ContainerStatuses) {
		return true
	}
	for i := range o.Status.ContainerStatuses {
		if !apiequality.Semantic.DeepEqual(o.Status.ContainerStatuses[i].Resources, n.Status.ContainerStatuses[i].Resources) {
			return true
		}
	}
	return false
}

// serviceUsageChanged: the type or the ports changed.
func serviceUsageChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*corev1.Service)
	n, ok2 := newObj.(*corev1.Service)
	if !ok1 || !ok2 {
		return true
	}
	return o.Spec.Type != n.Spec.Type || len(o.Spec.Ports) != len(n.Spec.Ports) ||
		!apiequality.Semantic.DeepEqual(o.Spec.AllocateLoadBalancerNodePorts, n.Spec.AllocateLoadBalancerNodePorts)
}

// pvcUsageChanged: the requested storage changed (expansion).
func pvcUsageChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*corev1.PersistentVolumeClaim)
	n, ok2 := newObj.(*corev1.PersistentVolumeClaim)
	if !ok1 || !ok2 {
		return true
	}
	return !apiequality.Semantic.DeepEqual(o.Spec.Resources, n.Spec.Resources) ||
		!apiequality.Semantic.DeepEqual(o.Status.Capacity, n.Status.Capacity) ||
		!apiequality.Semantic.DeepEqual(o.Spec.StorageClassName, n.Spec.StorageClassName)
}
