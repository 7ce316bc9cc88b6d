package job

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/skiff-dev/skiff/controllers"
)

// Descriptor is the "job" controller with upstream's timings.
var Descriptor = NewDescriptor(Options{})

// Options tune the controller; the zero value is upstream's behaviour.
type Options struct {
	// PodFailureBackoff is the delay before recreating a pod after its
	// first failure; it doubles with every consecutive one (0 means 10s).
	PodFailureBackoff time.Duration
	// MaxPodFailureBackoff caps it (0 means 10m).
	MaxPodFailureBackoff time.Duration
	// Clock is the controller's clock (nil means the real one).
	Clock clock.Clock
}

// NewDescriptor is the "job" controller with the given options (tests
// shorten the backoff).
func NewDescriptor(o Options) controllers.Descriptor {
	return controllers.Descriptor{Name: "job", Setup: func(ctx context.Context, c controllers.Context) error {
		return Setup(ctx, c, o)
	}}
}

// Setup registers the Job controller and its orphan-pod finalizer cleaner
// with the manager.
func Setup(_ context.Context, c controllers.Context, o Options) error {
	if o.PodFailureBackoff <= 0 {
		o.PodFailureBackoff = DefaultPodFailureBackoff
	}
	if o.MaxPodFailureBackoff <= 0 {
		o.MaxPodFailureBackoff = DefaultMaxPodFailureBackoff
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	r := &Reconciler{
		Client:       c.Manager.GetClient(),
		Recorder:     c.Manager.GetEventRecorderFor("job-controller"),
		Options:      o,
		expectations: newExpectations(),
		backoff:      newBackoffStore(),
	}
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("job").
		For(&batchv1.Job{}).
		Owns(&corev1.Pod{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("job controller: %w", err)
	}
	orphans := &orphanPodReconciler{client: c.Manager.GetClient()}
	err = ctrl.NewControllerManagedBy(c.Manager).
		Named("job-orphan-pods").
		For(&corev1.Pod{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			p, ok := o.(*corev1.Pod)
			return ok && hasTrackingFinalizer(p)
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(orphans)
	if err != nil {
		return fmt.Errorf("job orphan pod controller: %w", err)
	}
	return nil
}

// Reconciler syncs one Job.
type Reconciler struct {
	Client   client.Client
	Recorder record.EventRecorder
	Options  Options

	expectations *expectations
	backoff      *backoffStore
	// uids remembers each Job's UID, to forget its expectations and
	// backoff once it is gone.
	uids sync.Map // types.NamespacedName → types.UID
}

// Reconcile syncs the Job named by req.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	var job batchv1.Job
	if err := r.Client.Get(ctx, req.NamespacedName, &job); err != nil {
		if apierrors.IsNotFound(err) {
			if uid, ok := r.uids.LoadAndDelete(req.NamespacedName); ok {
				r.expectations.forget(uid.(types.UID))
				r.backoff.remove(uid.(types.UID))
			}
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting job: %w", err)
	}
	r.uids.Store(req.NamespacedName, job.UID)
	if managedBy := job.Spec.ManagedBy; managedBy != nil && *managedBy != batchv1.JobControllerName {
		log.V(2).Info("Skipping job managed by another controller", "managedBy", *managedBy)
		return ctrl.Result{}, nil
	}
	after, err := r.sync(ctx, job.DeepCopy())
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// orphanPodReconciler removes the tracking finalizer from pods whose Job
// is gone, is another object now, or has finished (everything it needed
// was counted before it finished).
type orphanPodReconciler struct {
	client client.Client
}

func (r *orphanPodReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var pod corev1.Pod
	if err := r.client.Get(ctx, req.NamespacedName, &pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !hasTrackingFinalizer(&pod) {
		return ctrl.Result{}, nil
	}
	ref := metav1.GetControllerOf(&pod)
	if ref != nil && ref.APIVersion == batchv1.SchemeGroupVersion.String() && ref.Kind == "Job" {
		var job batchv1.Job
		err := r.client.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, &job)
		if err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("getting job of pod: %w", err)
		}
		if err == nil && job.UID == ref.UID && !isFinished(&job) {
			// The Job controller counts it.
			return ctrl.Result{}, nil
		}
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Removing tracking finalizer from orphan pod")
	return ctrl.Result{}, removeTrackingFinalizer(ctx, r.client, &pod)
}

func ctrlLogger(ctx context.Context) logr.Logger { return ctrl.LoggerFrom(ctx) }
