package tokencleaner

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/skiff-dev/skiff/controllers"
)

const (
	// SecretType is the type of bootstrap token Secrets.
	SecretType corev1.SecretType = "bootstrap.kubernetes.io/token"
	// ExpirationKey holds a Secret's expiry, RFC 3339.
	ExpirationKey = "expiration"
	// Namespace is where bootstrap tokens live.
	Namespace = "kube-system"
)

// Descriptor is the token cleaner.
var Descriptor = controllers.Descriptor{Name: "tokencleaner", Setup: Setup}

// Setup registers the token cleaner.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{Client: c.Manager.GetClient(), Now: time.Now}
	isBootstrap := predicate.NewPredicateFuncs(func(o client.Object) bool {
		s, ok := o.(*corev1.Secret)
		return ok && s.Namespace == Namespace && s.Type == SecretType
	})
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("tokencleaner").
		For(&corev1.Secret{}, builder.WithPredicates(isBootstrap)).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// Reconciler deletes one expired bootstrap token, or waits for its expiry.
type Reconciler struct {
	Client client.Client
	Now    func() time.Time
}

// Expiration returns how long until secret expires and whether it already
// has. A Secret without a parseable expiration never expires.
func Expiration(secret *corev1.Secret, now time.Time) (ttl time.Duration, expired bool) {
	raw, ok := secret.Data[ExpirationKey]
	if !ok || len(raw) == 0 {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339, string(raw))
	if err != nil {
		return 0, false
	}
	if !now.Before(t) {
		return 0, true
	}
	return t.Sub(now), false
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	var secret corev1.Secret
	if err := r.Client.Get(ctx, req.NamespacedName, &secret); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if secret.Type != SecretType || secret.Namespace != Namespace || secret.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	ttl, expired := Expiration(&secret, r.Now())
	if !expired {
		if ttl > 0 {
			return ctrl.Result{RequeueAfter: ttl}, nil
		}
		return ctrl.Result{}, nil
	}
	log.V(3).Info("Deleting expired bootstrap token secret", "secret", req)
	err := r.Client.Delete(ctx, &secret, client.Preconditions{UID: &secret.UID})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return ctrl.Result{}, fmt.Errorf("deleting expired bootstrap token %s: %w", req, err)
	}
	return ctrl.Result{}, nil
}
