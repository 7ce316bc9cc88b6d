package disruption

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

// Descriptor is the disruption controller.
var Descriptor = controllers.Descriptor{Name: "disruption", Setup: Setup}

// Setup registers the PDB status controller and the stale
// DisruptionTarget cleaner with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	scales, err := scale.NewForConfig(c.RESTConfig, c.Manager.GetRESTMapper(), dynamic.LegacyAPIPathResolverFunc,
		scale.NewDiscoveryScaleKindResolver(c.Client.Discovery()))
	if err != nil {
		return fmt.Errorf("disruption: scale client: %w", err)
	}
	r := &Reconciler{
		Client:   c.Manager.GetClient(),
		Scales:   scales,
		Mapper:   c.Manager.GetRESTMapper(),
		Recorder: c.Manager.GetEventRecorderFor("controllermanager"),
		Now:      time.Now,
	}
	toPDBs := handler.EnqueueRequestsFromMapFunc(r.pdbsOfPod)
	toAll := handler.EnqueueRequestsFromMapFunc(r.pdbsOfNamespace)
	if err := ctrl.NewControllerManagedBy(c.Manager).
		Named("disruption").
		For(&policyv1.PodDisruptionBudget{}).
		Watches(&corev1.Pod{}, toPDBs).
		Watches(&appsv1.Deployment{}, toAll, builder.WithPredicates(replicasChanged())).
		Watches(&appsv1.StatefulSet{}, toAll, builder.WithPredicates(replicasChanged())).
		Watches(&appsv1.ReplicaSet{}, toAll, builder.WithPredicates(replicasChanged())).
		Watches(&corev1.ReplicationController{}, toAll, builder.WithPredicates(replicasChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r); err != nil {
		return err
	}
	stale := &StaleReconciler{Client: c.Manager.GetClient(), Now: time.Now}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("disruption-stale-pod").
		For(&corev1.Pod{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			p, ok := o.(*corev1.Pod)
			if !ok {
				return false
			}
			has, _ := StaleDisruptionTarget(p, time.Now())
			return has
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(stale)
}

// Reconciler computes one PodDisruptionBudget's status.
type Reconciler struct {
	Client   client.Client
	Scales   scale.ScalesGetter
	Mapper   apimeta.RESTMapper
	Recorder record.EventRecorder
	Now      func() time.Time
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pdb := &policyv1.PodDisruptionBudget{}
	if err := r.Client.Get(ctx, req.NamespacedName, pdb); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	recheck, err := r.sync(ctx, pdb)
	if err != nil {
		if apierrors.IsConflict(err) {
			return reconcile.Result{Requeue: true}, nil
		}
		ctrl.LoggerFrom(ctx).Error(err, "Failed to sync PodDisruptionBudget")
		if ferr := r.failSafe(ctx, pdb, err); ferr != nil && !apierrors.IsConflict(ferr) && !apierrors.IsNotFound(ferr) {
			return reconcile.Result{}, fmt.Errorf("pdb %s: %w (and fail-safe status: %v)", req.NamespacedName, err, ferr)
		}
		return reconcile.Result{}, fmt.Errorf("pdb %s: %w", req.NamespacedName, err)
	}
	if !recheck.IsZero() {
		return reconcile.Result{RequeueAfter: recheck.Sub(r.Now()) + time.Second}, nil
	}
	return reconcile.Result{}, nil
}

func (r *Reconciler) sync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) (time.Time, error) {
	pods, err := r.podsFor(ctx, pdb)
	if err != nil {
		r.Recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return time.Time{}, err
	}
	if len(pods) == 0 {
		r.Recorder.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	var unmanaged []string
	expected, desired, err := Desired(pdb, int32(len(pods)), func() (int32, error) {
		n, u, err := r.expectedScale(ctx, pods)
		unmanaged = u
		return n, err
	})
	if err != nil {
		r.Recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return time.Time{}, err
	}
	if len(unmanaged) > 0 {
		ctrl.LoggerFrom(ctx).V(4).Info("Found unmanaged pods associated with this PDB", "pods", unmanaged)
		r.Recorder.Eventf(pdb, corev1.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" "+
			"field of the PDB to an integer value.", pdb.Spec.Selector)
	}
	now := r.Now()
	disrupted, expired, recheck := DisruptedPods(pdb, pods, now)
	for _, p := range expired {
		r.Recorder.Eventf(p, corev1.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
	}
	healthy := CurrentHealthy(pods, disrupted, now)
	allowed := Allowed(expected, healthy, desired)
	st := pdb.Status
	if st.CurrentHealthy == healthy && st.DesiredHealthy == desired && st.ExpectedPods == expected &&
		st.DisruptionsAllowed == allowed && apiequality.Semantic.DeepEqual(st.DisruptedPods, disrupted) &&
		st.ObservedGeneration == pdb.Generation && conditionUpToDate(pdb) {
		return recheck, nil
	}
	next := pdb.DeepCopy()
	next.Status = policyv1.PodDisruptionBudgetStatus{
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
		DisruptionsAllowed: allowed,
		DisruptedPods:      disrupted,
		ObservedGeneration: pdb.Generation,
		Conditions:         next.Status.Conditions,
	}
	setAllowedCondition(next)
	if err := r.Client.Status().Update(ctx, next); err != nil {
		return time.Time{}, fmt.Errorf("update status: %w", err)
	}
	return recheck, nil
}

// failSafe sets disruptionsAllowed to 0 with DisruptionAllowed=False
// SyncFailed, so evictions stop while the status cannot be computed.
func (r *Reconciler) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	next := pdb.DeepCopy()
	next.Status.DisruptionsAllowed = 0
	if next.Status.Conditions == nil {
		next.Status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.SyncFailedReason,
		Message:            cause.Error(),
		ObservedGeneration: next.Status.ObservedGeneration,
	})
	return r.Client.Status().Update(ctx, next)
}

func (r *Reconciler) podsFor(ctx context.Context, pdb *policyv1.PodDisruptionBudget) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, client.InNamespace(pdb.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	out := make([]*corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// errNoController is returned when a pod's controller has no /scale.
var errNoController = errors.New("found no controllers")

// expectedScale sums the replicas of the pods' controllers, each once;
// pods without a controller are returned as unmanaged.
func (r *Reconciler) expectedScale(ctx context.Context, pods []*corev1.Pod) (int32, []string, error) {
	seen := map[types.UID]int32{}
	var unmanaged []string
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			unmanaged = append(unmanaged, p.Name)
			continue
		}
		if _, ok := seen[ref.UID]; ok {
			continue
		}
		uid, n, err := r.controllerScale(ctx, p.Namespace, ref)
		if err != nil {
			return 0, nil, err
		}
		if uid == "" {
			return 0, nil, fmt.Errorf("%w for pod %q", errNoController, p.Name)
		}
		seen[uid] = n
	}
	var total int32
	for _, n := range seen {
		total += n
	}
	return total, unmanaged, nil
}

// controllerScale resolves ref to the controller whose replicas count: a
// ReplicaSet controlled by a Deployment resolves to the Deployment. It
// returns that controller's UID (empty when it does not exist or has no
// /scale) and its /scale spec.replicas.
func (r *Reconciler) controllerScale(ctx context.Context, namespace string, ref *metav1.OwnerReference) (types.UID, int32, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", 0, nil
	}
	if ref.Kind == "ReplicaSet" && (gv.Group == "apps" || gv.Group == "extensions") {
		rs := &appsv1.ReplicaSet{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, rs); err == nil && rs.UID == ref.UID {
			if owner := metav1.GetControllerOf(rs); owner != nil && owner.Kind == "Deployment" {
				if ogv, err := schema.ParseGroupVersion(owner.APIVersion); err == nil && (ogv.Group == "apps" || ogv.Group == "extensions") {
					ref, gv = owner, ogv
				}
			}
		}
	}
	m, err := r.Mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		if apimeta.IsNoMatchError(err) {
			return "", 0, nil
		}
		return "", 0, fmt.Errorf("map %s: %w", ref.Kind, err)
	}
	s, err := r.Scales.Scales(namespace).Get(ctx, m.Resource.GroupResource(), ref.Name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return "", 0, nil
		}
		return "", 0, fmt.Errorf("get scale of %s %s: %w", m.Resource.Resource, ref.Name, err)
	}
	if s.UID != ref.UID {
		return "", 0, nil
	}
	return s.UID, s.Spec.Replicas, nil
}

// pdbsOfPod maps a pod to the PDBs of its namespace that select it.
func (r *Reconciler) pdbsOfPod(ctx context.Context, o client.Object) []reconcile.Request {
	list := &policyv1.PodDisruptionBudgetList{}
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List PodDisruptionBudgets", "namespace", o.GetNamespace())
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		sel, err := metav1.LabelSelectorAsSelector(list.Items[i].Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(o.GetLabels())) {
			continue
		}
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// pdbsOfNamespace maps a controller to every PDB of its namespace (its
// replicas are the denominator of percentages).
func (r *Reconciler) pdbsOfNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list := &policyv1.PodDisruptionBudgetList{}
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List PodDisruptionBudgets", "namespace", o.GetNamespace())
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// replicasChanged passes updates of a workload's spec.replicas (and
// nothing else: creates and deletes reach PDBs through the pods).
func replicasChanged() predicate.Predicate {
	replicas := func(o client.Object) *int32 {
		switch w := o.(type) {
		case *appsv1.Deployment:
			return w.Spec.Replicas
		case *appsv1.StatefulSet:
			return w.Spec.Replicas
		case *appsv1.ReplicaSet:
			return w.Spec.Replicas
		case *corev1.ReplicationController:
			return w.Spec.Replicas
		}
		return nil
	}
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !apiequality.Semantic.DeepEqual(replicas(e.ObjectOld), replicas(e.ObjectNew))
		},
	}
}

// StaleReconciler resets stale DisruptionTarget conditions of pods.
type StaleReconciler struct {
	Client client.Client
	Now    func() time.Time
}

// Reconcile implements reconcile.Reconciler.
func (r *StaleReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pod := &corev1.Pod{}
	if err := r.Client.Get(ctx, req.NamespacedName, pod); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	stale, wait := StaleDisruptionTarget(pod, r.Now())
	if !stale {
		return reconcile.Result{}, nil
	}
	if wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	next := pod.DeepCopy()
	for i := range next.Status.Conditions {
		c := &next.Status.Conditions[i]
		if c.Type == corev1.DisruptionTarget {
			c.Status = corev1.ConditionFalse
			c.LastTransitionTime = metav1.NewTime(r.Now())
			c.ObservedGeneration = next.Generation
		}
	}
	if err := r.Client.Status().Update(ctx, next); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return reconcile.Result{Requeue: true}, nil
		}
		return reconcile.Result{}, fmt.Errorf("reset DisruptionTarget of pod %s: %w", req.NamespacedName, err)
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Reset stale DisruptionTarget condition to False")
	return reconcile.Result{}, nil
}
