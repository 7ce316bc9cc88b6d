package certificates

import (
	"context"
	"fmt"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

// Upstream's retention of requests.
const (
	ApprovedExpiration = time.Hour
	DeniedExpiration   = time.Hour
	FailedExpiration   = time.Hour
	PendingExpiration  = 24 * time.Hour
)

// CleanerDescriptor is the "csrcleaner" controller.
var CleanerDescriptor = controllers.Descriptor{Name: "csrcleaner", Setup: SetupCleaner}

// SetupCleaner registers the CSR cleaner.
func SetupCleaner(_ context.Context, c controllers.Context) error {
	r := &cleaner{client: c.Manager.GetClient(), now: time.Now}
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("csrcleaner").
		For(&certificatesv1.CertificateSigningRequest{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("csrcleaner: %w", err)
	}
	return nil
}

type cleaner struct {
	client client.Client
	now    func() time.Time
}

func (r *cleaner) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	csr := &certificatesv1.CertificateSigningRequest{}
	if err := r.client.Get(ctx, req.NamespacedName, csr); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	now := r.now()
	at, why := expiry(csr)
	if why == "" {
		return reconcile.Result{}, nil
	}
	if now.Before(at) {
		return reconcile.Result{RequeueAfter: at.Sub(now)}, nil
	}
	ctrl.LoggerFrom(ctx).Info("Deleting expired CSR", "csr", csr.Name, "why", why)
	uid := csr.UID
	if err := r.client.Delete(ctx, csr, &client.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	return reconcile.Result{}, nil
}

// expiry is when a CSR is due for deletion and why: the earliest of its
// certificate's expiry, an hour after it was approved with a certificate
// issued, denied or failed, and a day after it was created while still
// pending. It is "" when nothing makes the CSR due.
func expiry(csr *certificatesv1.CertificateSigningRequest) (time.Time, string) {
	var at time.Time
	why := ""
	consider := func(t time.Time, reason string) {
		if why == "" || t.Before(at) {
			at, why = t, reason
		}
	}
	if len(csr.Status.Certificate) > 0 {
		if certs, err := certutil.ParseCertsPEM(csr.Status.Certificate); err == nil && len(certs) > 0 {
			consider(certs[0].NotAfter, "issued certificate expired")
		}
		if c := condition(csr, certificatesv1.CertificateApproved); c != nil {
			consider(conditionTime(c, csr).Add(ApprovedExpiration), "approved and issued more than an hour ago")
		}
	}
	if c := condition(csr, certificatesv1.CertificateDenied); c != nil {
		consider(conditionTime(c, csr).Add(DeniedExpiration), "denied more than an hour ago")
	}
	if c := condition(csr, certificatesv1.CertificateFailed); c != nil {
		consider(conditionTime(c, csr).Add(FailedExpiration), "failed more than an hour ago")
	}
	if len(csr.Status.Conditions) == 0 && len(csr.Status.Certificate) == 0 {
		consider(csr.CreationTimestamp.Add(PendingExpiration), "pending for more than a day")
	}
	// why is "" (approved, not issued): kept until something changes.
	return at, why
}

// conditionTime is when a condition was last updated, falling back to its
// transition time and the CSR's creation.
func conditionTime(c *certificatesv1.CertificateSigningRequestCondition, csr *certificatesv1.CertificateSigningRequest) time.Time {
	switch {
	case !c.LastUpdateTime.IsZero():
		return c.LastUpdateTime.Time
	case !c.LastTransitionTime.IsZero():
		return c.LastTransitionTime.Time
	default:
		return csr.CreationTimestamp.Time
	}
}
