package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/internal/podcontrol"
)

// BurstReplicas is the most pods one sync creates or deletes.
const BurstReplicas = 500

// Event reasons, as upstream's.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

// Descriptor is the replicaset controller.
var Descriptor = controllers.Descriptor{Name: "replicaset", Setup: func(ctx context.Context, c controllers.Context) error {
	return setup(c, replicaSetKind, &appsv1.ReplicaSet{})
}}

// ReplicationControllerDescriptor is the replicationcontroller controller.
var ReplicationControllerDescriptor = controllers.Descriptor{Name: "replicationcontroller", Setup: func(ctx context.Context, c controllers.Context) error {
	return setup(c, replicationControllerKind, &corev1.ReplicationController{})
}}

func setup(c controllers.Context, k *kind, forObj client.Object) error {
	r := &reconciler{
		kind:     k,
		client:   c.Manager.GetClient(),
		reader:   c.Manager.GetAPIReader(),
		recorder: c.Manager.GetEventRecorderFor(k.component),
		exp:      podcontrol.NewExpectations(),
		now:      time.Now,
	}
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named(k.name).
		For(forObj).
		Watches(&corev1.Pod{}, r.podHandler()).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up %s controller: %w", k.name, err)
	}
	return nil
}

type reconciler struct {
	kind     *kind
	client   client.Client
	reader   client.Reader
	recorder record.EventRecorder
	exp      *podcontrol.Expectations
	now      func() time.Time
}

// Reconcile syncs one ReplicaSet or ReplicationController.
func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	key := req.String()
	obj := r.kind.newObject()
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.exp.Forget(key)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get %s %s: %w", r.kind.name, key, err)
	}
	rs := r.kind.view(obj)
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		log.Error(err, "Invalid selector", r.kind.name, key)
		return reconcile.Result{}, nil
	}
	needsSync := r.exp.Satisfied(key)

	var podList corev1.PodList
	if err := r.client.List(ctx, &podList, client.InNamespace(req.Namespace)); err != nil {
		return reconcile.Result{}, fmt.Errorf("list pods: %w", err)
	}
	all := make([]*corev1.Pod, len(podList.Items))
	var active []*corev1.Pod
	for i := range podList.Items {
		all[i] = &podList.Items[i]
		if podcontrol.IsPodActive(all[i]) {
			active = append(active, all[i])
		}
	}
	claimer := &podcontrol.Claimer{
		Client:   r.client,
		Owner:    obj,
		OwnerGVK: r.kind.gvk,
		Selector: selector,
		CanAdopt: podcontrol.RecheckOwner(r.reader, obj, r.kind.newObject()),
	}
	pods, err := podcontrol.Claim(ctx, claimer, active)
	if err != nil {
		return reconcile.Result{}, err
	}

	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = r.manageReplicas(ctx, key, obj, rs, pods, all)
	}

	var terminating int32
	for _, p := range all {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == rs.UID && podcontrol.IsPodTerminating(p) {
			terminating++
		}
	}
	now := r.now()
	status := CalculateStatus(rs, pods, terminating, manageErr, now)
	if !apiequality.Semantic.DeepEqual(status, rs.Status) {
		r.kind.setStatus(obj, status)
		if err := r.client.Status().Update(ctx, obj); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				return reconcile.Result{Requeue: true}, nil
			}
			return reconcile.Result{}, errors.Join(manageErr, fmt.Errorf("update status of %s %s: %w", r.kind.name, key, err))
		}
	}
	if manageErr != nil {
		return reconcile.Result{}, manageErr
	}
	// Pods that are ready but not yet available become so after
	// minReadySeconds: look again then.
	var after time.Duration
	for _, p := range pods {
		if d := podcontrol.AvailableAfter(p, rs.Spec.MinReadySeconds, now); d > 0 && (after == 0 || d < after) {
			after = d
		}
	}
	if after > 0 {
		return reconcile.Result{RequeueAfter: after + 100*time.Millisecond}, nil
	}
	return reconcile.Result{}, nil
}

func (r *reconciler) manageReplicas(ctx context.Context, key string, obj client.Object, rs *appsv1.ReplicaSet, pods, all []*corev1.Pod) error {
	log := ctrl.LoggerFrom(ctx)
	want := int(ptr.Deref(rs.Spec.Replicas, 1))
	diff := len(pods) - want
	switch {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		r.exp.ExpectCreations(key, n)
		log.V(2).Info("Too few replicas", "need", want, "creating", n)
		ref := podcontrol.NewControllerRef(obj, r.kind.gvk)
		ok, err := podcontrol.SlowStartBatch(n, 1, func() error {
			pod := podcontrol.PodFromTemplate(&rs.Spec.Template, obj, ref)
			if err := r.client.Create(ctx, pod); err != nil {
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					// Every later creation fails too; the namespace goes.
					return nil
				}
				r.recorder.Eventf(obj, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
				return err
			}
			r.recorder.Eventf(obj, corev1.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %v", pod.Name)
			return nil
		})
		if skipped := n - ok; skipped > 0 {
			r.exp.LowerCreations(key, skipped)
		}
		if err != nil {
			return fmt.Errorf("create pods for %s %s: %w", r.kind.name, key, err)
		}
	case diff > 0:
		n := min(diff, BurstReplicas)
		log.V(2).Info("Too many replicas", "need", want, "deleting", n)
		related, err := r.relatedPods(ctx, rs, pods, all)
		if err != nil {
			return err
		}
		victims := PodsToDelete(pods, related, n, r.now())
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = p.Namespace + "/" + p.Name
		}
		r.exp.ExpectDeletions(key, keys)
		var wg sync.WaitGroup
		errCh := make(chan error, n)
		for i, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				uid := p.UID
				if err := r.client.Delete(ctx, p, client.Preconditions{UID: &uid}); err != nil {
					r.exp.DeletionObserved(key, keys[i])
					if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
						return
					}
					r.recorder.Eventf(obj, corev1.EventTypeWarning, ReasonFailedDelete, "Error deleting: %v", err)
					errCh <- err
					return
				}
				r.recorder.Eventf(obj, corev1.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: %v", p.Name)
			}()
		}
		wg.Wait()
		close(errCh)
		if err, ok := <-errCh; ok {
			return fmt.Errorf("delete pods of %s %s: %w", r.kind.name, key, err)
		}
	}
	return nil
}

// relatedPods are the active pods of every controller that shares rs's
// controller (the ReplicaSets of one Deployment), or rs's own pods when it has
// none; the deletion ranking prefers pods doubled up on a node among them.
func (r *reconciler) relatedPods(ctx context.Context, rs *appsv1.ReplicaSet, pods, all []*corev1.Pod) ([]*corev1.Pod, error) {
	owner := metav1.GetControllerOf(rs)
	if owner == nil {
		return pods, nil
	}
	siblings, err := r.kind.list(ctx, r.client, rs.Namespace)
	if err != nil {
		return nil, err
	}
	uids := map[types.UID]bool{}
	for _, s := range siblings {
		if ref := metav1.GetControllerOf(s); ref != nil && ref.UID == owner.UID {
			uids[s.UID] = true
		}
	}
	var out []*corev1.Pod
	for _, p := range all {
		if ref := metav1.GetControllerOf(p); ref != nil && uids[ref.UID] && podcontrol.IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// PodsToDelete picks the n pods to delete first: ranked by
// podcontrol.SortForDeletion, where a pod's rank is how many related pods
// run on its node.
func PodsToDelete(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	onNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" {
			onNode[p.Spec.NodeName]++
		}
	}
	sorted := append([]*corev1.Pod(nil), pods...)
	ranks := make([]int, len(sorted))
	for i, p := range sorted {
		if p.Spec.NodeName != "" {
			ranks[i] = onNode[p.Spec.NodeName]
		}
	}
	podcontrol.SortForDeletion(sorted, ranks, now)
	return sorted[:n]
}

// CalculateStatus is rs's status given its claimed active pods, how many of
// its pods are terminating, and the error managing replicas gave (which sets
// the ReplicaFailure condition; none clears it).
func CalculateStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, terminating int32, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := *rs.Status.DeepCopy()
	templateLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	var fully, ready, available int32
	for _, p := range pods {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if podcontrol.IsPodReady(p) {
			ready++
			if podcontrol.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
				available++
			}
		}
	}
	var failure *appsv1.ReplicaSetCondition
	for i := range st.Conditions {
		if st.Conditions[i].Type == appsv1.ReplicaSetReplicaFailure {
			failure = &st.Conditions[i]
		}
	}
	switch {
	case manageErr != nil && failure == nil:
		reason := "FailedCreate"
		if len(pods) > int(ptr.Deref(rs.Spec.Replicas, 1)) {
			reason = "FailedDelete"
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type:               appsv1.ReplicaSetReplicaFailure,
			Status:             corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now),
			Reason:             reason,
			Message:            manageErr.Error(),
		})
	case manageErr == nil && failure != nil:
		var kept []appsv1.ReplicaSetCondition
		for _, c := range st.Conditions {
			if c.Type != appsv1.ReplicaSetReplicaFailure {
				kept = append(kept, c)
			}
		}
		st.Conditions = kept
	}
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas = fully
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.TerminatingReplicas = ptr.To(terminating)
	st.ObservedGeneration = rs.Generation
	return st
}
