package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/internal/endpointutil"
)

// Descriptor is the EndpointSlice controller.
var Descriptor = controllers.Descriptor{Name: "endpointslice", Setup: Setup}

// Setup registers the EndpointSlice controller.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{
		Client:               c.Manager.GetClient(),
		Recorder:             c.Manager.GetEventRecorderFor("endpoint-slice-controller"),
		MaxEndpointsPerSlice: DefaultMaxEndpointsPerSlice,
		Tracker:              endpointutil.NewSliceTracker(),
		triggers:             endpointutil.NewTriggerTimeTracker(),
		hintsState:           map[types.NamespacedName]string{},
	}
	return r.SetupWithManager(c)
}

// Reconciler syncs one Service's EndpointSlices.
type Reconciler struct {
	Client               client.Client
	Recorder             record.EventRecorder
	MaxEndpointsPerSlice int
	Tracker              *endpointutil.SliceTracker
	triggers             *endpointutil.TriggerTimeTracker

	hintsMu    sync.Mutex
	hintsState map[types.NamespacedName]string
}

// SetupWithManager registers r.
func (r *Reconciler) SetupWithManager(c controllers.Context) error {
	mgrClient := c.Manager.GetClient()
	sliceHandler := handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueueSliceService(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueueSliceService(e.ObjectOld, q)
			enqueueSliceService(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if s, ok := e.Object.(*discovery.EndpointSlice); ok {
				r.Tracker.Observe(s)
			}
			enqueueSliceService(e.Object, q)
		},
	}
	// A node's zone is read at sync time, so a zone change, or a zoned node
	// appearing after pods were bound to it, resyncs every Service (the
	// queue folds the bursts; syncs without changes write nothing).
	// Services with topology-aware hints also resync when the nodes' CPU
	// shares may have changed (a node's readiness, CPU or role).
	nodeHandler := handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.IsInInitialList {
				return
			}
			if e.Object.GetLabels()[corev1.LabelTopologyZone] != "" {
				enqueueAllServices(ctx, mgrClient, q, false)
			}
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			o, n := e.ObjectOld.(*corev1.Node), e.ObjectNew.(*corev1.Node)
			switch {
			case o.Labels[corev1.LabelTopologyZone] != n.Labels[corev1.LabelTopologyZone]:
				enqueueAllServices(ctx, mgrClient, q, false)
			case nodeTopologyChanged(o, n):
				enqueueAllServices(ctx, mgrClient, q, true)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueueAllServices(ctx, mgrClient, q, true)
		},
	}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("endpointslice").
		For(&corev1.Service{}).
		Watches(&corev1.Pod{}, endpointutil.PodToServices(mgrClient)).
		Watches(&discovery.EndpointSlice{}, sliceHandler).
		Watches(&corev1.Node{}, nodeHandler).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

func enqueueSliceService(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	l := o.GetLabels()
	if l[discovery.LabelManagedBy] != ControllerName || l[discovery.LabelServiceName] == "" {
		return
	}
	q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: l[discovery.LabelServiceName]}})
}

// nodeTopologyChanged reports whether a node update may change the zones'
// CPU shares.
func nodeTopologyChanged(o, n *corev1.Node) bool {
	if nodeReady(o) != nodeReady(n) || !o.Status.Allocatable.Cpu().Equal(*n.Status.Allocatable.Cpu()) {
		return true
	}
	for _, l := range []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"} {
		_, a := o.Labels[l]
		_, b := n.Labels[l]
		if a != b {
			return true
		}
	}
	return false
}

// enqueueAllServices enqueues every Service with a selector, or only
// those with topology-aware hints.
func enqueueAllServices(ctx context.Context, c client.Reader, q workqueue.TypedRateLimitingInterface[reconcile.Request], topologyOnly bool) {
	var list corev1.ServiceList
	if err := c.List(ctx, &list); err != nil {
		return
	}
	for _, s := range list.Items {
		if topologyOnly && !TopologyAwareHintsEnabled(&s) {
			continue
		}
		if s.Spec.Selector != nil {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
		}
	}
}

// errStale is why a sync waits: the cache lacks this controller's writes.
var errStale = errors.New("EndpointSlice informer cache is out of date")

// staleRetry is when a sync that found the cache stale is retried at the
// latest.
const staleRetry = time.Second

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var svc corev1.Service
	if err := r.Client.Get(ctx, req.NamespacedName, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			// Its slices are owned by it and go with the garbage collector.
			r.triggers.Delete(req.NamespacedName)
			r.hintsMu.Lock()
			delete(r.hintsState, req.NamespacedName)
			r.hintsMu.Unlock()
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting service %s: %w", req, err)
	}
	if svc.Spec.Selector == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		// Selector-less Services are mirrored from their Endpoints;
		// ExternalName Services get no endpoints.
		return ctrl.Result{}, nil
	}
	if svc.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	pods, err := endpointutil.SelectedPods(ctx, r.Client, &svc)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("listing pods of service %s: %w", req, err)
	}
	var sliceList discovery.EndpointSliceList
	if err := r.Client.List(ctx, &sliceList, client.InNamespace(svc.Namespace), client.MatchingLabels{
		discovery.LabelServiceName: svc.Name,
		discovery.LabelManagedBy:   ControllerName,
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing endpointslices of service %s: %w", req, err)
	}
	existing := make([]*discovery.EndpointSlice, 0, len(sliceList.Items))
	for i := range sliceList.Items {
		if sliceList.Items[i].DeletionTimestamp == nil {
			existing = append(existing, &sliceList.Items[i])
		}
	}
	if r.Tracker.Stale(svc.UID, existing) {
		// The slice events still to come requeue this key; the delay is
		// a backstop.
		ctrl.LoggerFrom(ctx).V(4).Info("Waiting for the cache", "reason", errStale.Error(), "key", req)
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}

	zones := map[string]string{}
	zone := func(node string) string {
		if z, ok := zones[node]; ok {
			return z
		}
		var n corev1.Node
		z := ""
		if err := r.Client.Get(ctx, types.NamespacedName{Name: node}, &n); err == nil {
			z = n.Labels[corev1.LabelTopologyZone]
		}
		zones[node] = z
		return z
	}
	in := Input{
		Service:              &svc,
		Pods:                 pods,
		Zone:                 zone,
		Existing:             existing,
		MaxEndpointsPerSlice: r.MaxEndpointsPerSlice,
	}
	if TopologyAwareHintsEnabled(&svc) {
		var nodes corev1.NodeList
		if err := r.Client.List(ctx, &nodes); err != nil {
			return ctrl.Result{}, fmt.Errorf("listing nodes: %w", err)
		}
		ptrs := make([]*corev1.Node, len(nodes.Items))
		for i := range nodes.Items {
			ptrs[i] = &nodes.Items[i]
		}
		in.ZoneRatios, in.ZoneRatiosReason = ZoneRatios(ptrs)
	}
	triggerTime, commit := r.triggers.Compute(&svc, pods)
	in.TriggerTime = triggerTime
	plan := Plan(in)
	if err := r.apply(ctx, &svc, plan); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return ctrl.Result{}, nil
		}
		r.Recorder.Eventf(&svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		return ctrl.Result{}, err
	}
	commit()
	r.recordHints(&svc, plan)
	return ctrl.Result{}, nil
}

// recordHints emits TopologyAwareHintsEnabled/Disabled events when a
// Service's topology-aware hints change state (or the reason they are off
// changes).
func (r *Reconciler) recordHints(svc *corev1.Service, plan Result) {
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	state := ""
	switch {
	case plan.TopologyHints:
		state = msgHintsEnabled
	case TopologyAwareHintsEnabled(svc):
		state = plan.TopologyHintsOff
	}
	r.hintsMu.Lock()
	prev, known := r.hintsState[key]
	if state == "" {
		delete(r.hintsState, key)
	} else {
		r.hintsState[key] = state
	}
	r.hintsMu.Unlock()
	switch {
	case state == prev:
	case state == msgHintsEnabled:
		r.Recorder.Event(svc, corev1.EventTypeNormal, "TopologyAwareHintsEnabled", msgHintsEnabled)
	case state != "":
		r.Recorder.Event(svc, corev1.EventTypeWarning, "TopologyAwareHintsDisabled", state)
	case known && prev == msgHintsEnabled:
		r.Recorder.Event(svc, corev1.EventTypeWarning, "TopologyAwareHintsDisabled", msgHintsDisabled)
	}
}

// apply writes a plan: creates, then updates, then deletes, so that
// endpoints moving between slices are never absent.
func (r *Reconciler) apply(ctx context.Context, svc *corev1.Service, plan Result) error {
	for _, s := range plan.Create {
		if err := r.Client.Create(ctx, s); err != nil {
			return fmt.Errorf("creating endpointslice for service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
		r.Tracker.Expect(svc.UID, s)
	}
	for _, s := range plan.Update {
		if err := r.Client.Update(ctx, s); err != nil {
			return fmt.Errorf("updating endpointslice %s/%s: %w", s.Namespace, s.Name, err)
		}
		r.Tracker.Expect(svc.UID, s)
	}
	for _, s := range plan.Delete {
		if err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting endpointslice %s/%s: %w", s.Namespace, s.Name, err)
		}
		r.Tracker.ExpectDeletion(svc.UID, s)
	}
	return nil
}
