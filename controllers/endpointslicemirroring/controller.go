package endpointslicemirroring

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
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

// Descriptor is the EndpointSlice mirroring controller.
var Descriptor = controllers.Descriptor{Name: "endpointslicemirroring", Setup: Setup}

// Setup registers the mirroring controller.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{Client: c.Manager.GetClient(), MaxEndpointsPerSubset: DefaultMaxEndpointsPerSubset, tracker: endpointutil.NewSliceTracker()}
	sameName := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
		return []ctrl.Request{{NamespacedName: client.ObjectKeyFromObject(o)}}
	})
	sliceHandler := handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueueSlice(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueueSlice(e.ObjectOld, q)
			enqueueSlice(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if s, ok := e.Object.(*discovery.EndpointSlice); ok {
				r.tracker.Observe(s)
			}
			enqueueSlice(e.Object, q)
		},
	}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("endpointslicemirroring").
		For(&corev1.Endpoints{}).
		Watches(&corev1.Service{}, sameName).
		Watches(&discovery.EndpointSlice{}, sliceHandler).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

func enqueueSlice(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	l := o.GetLabels()
	if l[discovery.LabelManagedBy] != ControllerName || l[discovery.LabelServiceName] == "" {
		return
	}
	q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: l[discovery.LabelServiceName]}})
}

// Reconciler mirrors one Endpoints object.
type Reconciler struct {
	Client                client.Client
	MaxEndpointsPerSubset int
	tracker               *endpointutil.SliceTracker
}

var errStale = errors.New("EndpointSlice informer cache is out of date")

// staleRetry is when a sync that found the cache stale is retried at the
// latest.
const staleRetry = time.Second

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var list discovery.EndpointSliceList
	if err := r.Client.List(ctx, &list, client.InNamespace(req.Namespace), client.MatchingLabels{
		discovery.LabelServiceName: req.Name,
		discovery.LabelManagedBy:   ControllerName,
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing mirrored endpointslices of %s: %w", req, err)
	}
	existing := make([]*discovery.EndpointSlice, 0, len(list.Items))
	for i := range list.Items {
		existing = append(existing, &list.Items[i])
	}

	mirror := true
	var ep corev1.Endpoints
	if err := r.Client.Get(ctx, req.NamespacedName, &ep); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("getting endpoints %s: %w", req, err)
		}
		mirror = false
	}
	if mirror && !ShouldMirror(&ep) {
		mirror = false
	}
	if mirror {
		var svc corev1.Service
		if err := r.Client.Get(ctx, req.NamespacedName, &svc); err != nil {
			if !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("getting service %s: %w", req, err)
			}
			mirror = false
		} else if svc.Spec.Selector != nil {
			// The EndpointSlice controller serves Services with selectors.
			mirror = false
		}
	}
	if !mirror {
		for _, s := range existing {
			if err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("deleting mirrored endpointslice %s/%s: %w", s.Namespace, s.Name, err)
			}
		}
		if ep.UID != "" {
			r.tracker.Forget(ep.UID)
		}
		return ctrl.Result{}, nil
	}
	if r.tracker.Stale(ep.UID, existing) {
		// The slice events still to come requeue this key; the delay is
		// a backstop.
		ctrl.LoggerFrom(ctx).V(4).Info("Waiting for the cache", "reason", errStale.Error(), "key", req)
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	create, update, del := Plan(&ep, existing, r.MaxEndpointsPerSubset)
	for _, s := range create {
		if err := r.Client.Create(ctx, s); err != nil {
			return ctrl.Result{}, fmt.Errorf("creating mirrored endpointslice for %s: %w", req, err)
		}
		r.tracker.Expect(ep.UID, s)
	}
	for _, s := range update {
		if err := r.Client.Update(ctx, s); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating mirrored endpointslice %s/%s: %w", s.Namespace, s.Name, err)
		}
		r.tracker.Expect(ep.UID, s)
	}
	for _, s := range del {
		if err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("deleting mirrored endpointslice %s/%s: %w", s.Namespace, s.Name, err)
		}
		r.tracker.ExpectDeletion(ep.UID, s)
	}
	return ctrl.Result{}, nil
}
