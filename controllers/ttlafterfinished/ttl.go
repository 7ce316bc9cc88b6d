package ttlafterfinished

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/skiff-dev/skiff/controllers"
)

// Descriptor is the "ttl-after-finished" controller on the real clock.
var Descriptor = NewDescriptor(Options{})

// Options tune the controller.
type Options struct {
	// Clock decides when Jobs expire (nil means the real clock).
	Clock clock.Clock
}

// NewDescriptor is the "ttl-after-finished" controller with the options.
func NewDescriptor(o Options) controllers.Descriptor {
	return controllers.Descriptor{Name: "ttl-after-finished", Setup: func(ctx context.Context, c controllers.Context) error {
		return Setup(ctx, c, o)
	}}
}

// Setup registers the controller with the manager.
func Setup(_ context.Context, c controllers.Context, o Options) error {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	r := &Reconciler{Client: c.Manager.GetClient(), Reader: c.Manager.GetAPIReader(), Clock: o.Clock}
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("ttl-after-finished").
		For(&batchv1.Job{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			j, ok := o.(*batchv1.Job)
			return ok && needsCleanup(j)
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("ttl-after-finished controller: %w", err)
	}
	return nil
}

// Reconciler deletes one expired Job.
type Reconciler struct {
	Client client.Client
	// Reader reads the Job around the cache before deleting it.
	Reader client.Reader
	Clock  clock.PassiveClock
}

// Reconcile deletes the Job if its TTL has passed, else requeues it for
// then.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	var job batchv1.Job
	if err := r.Client.Get(ctx, req.NamespacedName, &job); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	left, expired, err := timeLeft(&job, r.Clock.Now())
	if err != nil || !expired {
		return ctrl.Result{RequeueAfter: left}, err
	}
	// The cached Job may be stale (its TTL changed, or it was restarted):
	// check the stored one before deleting it.
	var fresh batchv1.Job
	if err := r.Reader.Get(ctx, req.NamespacedName, &fresh); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	left, expired, err = timeLeft(&fresh, r.Clock.Now())
	if err != nil || !expired {
		return ctrl.Result{RequeueAfter: left}, err
	}
	log.V(2).Info("Cleaning up Job", "ttlSecondsAfterFinished", *fresh.Spec.TTLSecondsAfterFinished)
	err = r.Client.Delete(ctx, &fresh,
		client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion})
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("deleting job: %w", err)
	}
	return ctrl.Result{}, nil
}

// needsCleanup: a finished Job with a TTL, not already being deleted.
func needsCleanup(j *batchv1.Job) bool {
	_, finished := finishTime(j)
	return j.Spec.TTLSecondsAfterFinished != nil && j.DeletionTimestamp == nil && finished
}

// finishTime is when the Job's Complete or Failed condition became True.
func finishTime(j *batchv1.Job) (time.Time, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// timeLeft is how long until the Job expires, and whether it has; a Job
// that does not need cleaning up never expires.
func timeLeft(j *batchv1.Job, now time.Time) (time.Duration, bool, error) {
	if !needsCleanup(j) {
		return 0, false, nil
	}
	finished, _ := finishTime(j)
	if finished.IsZero() {
		return 0, false, fmt.Errorf("unable to find the time when the Job %s/%s finished", j.Namespace, j.Name)
	}
	expireAt := finished.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second)
	if !now.Before(expireAt) {
		return 0, true, nil
	}
	return expireAt.Sub(now), false, nil
}
