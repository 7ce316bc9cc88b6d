package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

const (
	// DefaultSigningDuration is --cluster-signing-duration's default.
	DefaultSigningDuration = 365 * 24 * time.Hour
	// ReasonSignerValidationFailure is the Failed condition of a request its
	// signer refuses.
	ReasonSignerValidationFailure = "SignerValidationFailure"

	// backdate is how far before now certificates become valid, against
	// clock skew; minDuration is the shortest certificate issued.
	backdate    = 5 * time.Minute
	minDuration = 10 * time.Minute
)

// SigningDescriptor is the "csrsigning" controller.
var SigningDescriptor = controllers.Descriptor{Name: "csrsigning", Setup: SetupSigning}

// SetupSigning registers the CSR signing controller; without
// ClusterSigningCertFile/KeyFile it registers nothing (as
// kube-controller-manager without signing files).
func SetupSigning(ctx context.Context, c controllers.Context) error {
	if c.Options.ClusterSigningCertFile == "" || c.Options.ClusterSigningKeyFile == "" {
		klog.FromContext(ctx).Info("No cluster signing cert/key files, CSR signing is off")
		return nil
	}
	ca, err := LoadCA(c.Options.ClusterSigningCertFile, c.Options.ClusterSigningKeyFile)
	if err != nil {
		return fmt.Errorf("csrsigning: %w", err)
	}
	ttl := c.Options.ClusterSigningDuration
	if ttl <= 0 {
		ttl = DefaultSigningDuration
	}
	r := &signer{reader: c.Manager.GetClient(), client: c.Client, ca: ca, ttl: ttl, now: time.Now}
	err = ctrl.NewControllerManagedBy(c.Manager).
		Named("csrsigning").
		For(&certificatesv1.CertificateSigningRequest{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			csr, ok := o.(*certificatesv1.CertificateSigningRequest)
			return ok && signerValidators[csr.Spec.SignerName] != nil
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("csrsigning: %w", err)
	}
	return nil
}

// CA is a signing certificate and its key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LoadCA reads a PEM certificate and private key.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read signing cert: %w", err)
	}
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parse signing cert %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", keyFile, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s cannot sign", keyFile)
	}
	return &CA{Cert: certs[0], Key: s}, nil
}

type signer struct {
	reader client.Reader
	client kubernetes.Interface
	ca     *CA
	ttl    time.Duration
	now    func() time.Time
}

func (r *signer) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	csr := &certificatesv1.CertificateSigningRequest{}
	if err := r.reader.Get(ctx, req.NamespacedName, csr); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	validate := signerValidators[csr.Spec.SignerName]
	approved, denied := approvedOrDenied(csr)
	if validate == nil || !approved || denied || condition(csr, certificatesv1.CertificateFailed) != nil || len(csr.Status.Certificate) > 0 {
		return reconcile.Result{}, nil
	}
	x509cr, err := parseCSR(csr.Spec.Request)
	if err == nil {
		err = x509cr.CheckSignature()
	}
	if err == nil {
		err = validate(x509cr, usageSet(csr.Spec.Usages))
	}
	if err != nil {
		return reconcile.Result{}, r.fail(ctx, csr, err)
	}
	certPEM, err := r.ca.Sign(x509cr, csr.Spec.Usages, duration(r.ttl, csr.Spec.ExpirationSeconds), r.now())
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("sign CSR %s: %w", csr.Name, err)
	}
	updated := csr.DeepCopy()
	updated.Status.Certificate = certPEM
	if _, err := r.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("store certificate of CSR %s: %w", csr.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Signed CSR", "csr", csr.Name, "signer", csr.Spec.SignerName, "subject", x509cr.Subject.String())
	return reconcile.Result{}, nil
}

// fail marks a request its signer will not sign.
func (r *signer) fail(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, why error) error {
	updated := csr.DeepCopy()
	now := metav1.NewTime(r.now())
	updated.Status.Conditions = append(updated.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type:               certificatesv1.CertificateFailed,
		Status:             corev1.ConditionTrue,
		Reason:             ReasonSignerValidationFailure,
		Message:            why.Error(),
		LastUpdateTime:     now,
		LastTransitionTime: now,
	})
	if _, err := r.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("mark CSR %s failed: %w", csr.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Signer refused CSR", "csr", csr.Name, "signer", csr.Spec.SignerName, "err", why)
	return nil
}

// duration is how long a certificate is valid: the requested
// expirationSeconds within [minDuration, ttl], else ttl.
func duration(ttl time.Duration, expirationSeconds *int32) time.Duration {
	if expirationSeconds == nil {
		return ttl
	}
	d := time.Duration(*expirationSeconds) * time.Second
	switch {
	case d > ttl:
		return ttl
	case d < minDuration:
		return minDuration
	default:
		return d
	}
}

var keyUsages = map[certificatesv1.KeyUsage]x509.KeyUsage{
	certificatesv1.UsageSigning:           x509.KeyUsageDigitalSignature,
	certificatesv1.UsageDigitalSignature:  x509.KeyUsageDigitalSignature,
	certificatesv1.UsageContentCommitment: x509.KeyUsageContentCommitment,
	certificatesv1.UsageKeyEncipherment:   x509.KeyUsageKeyEncipherment,
	certificatesv1.UsageKeyAgreement:      x509.KeyUsageKeyAgreement,
	certificatesv1.UsageDataEncipherment:  x509.KeyUsageDataEncipherment,
	certificatesv1.UsageCertSign:          x509.KeyUsageCertSign,
	certificatesv1.UsageCRLSign:           x509.KeyUsageCRLSign,
	certificatesv1.UsageEncipherOnly:      x509.KeyUsageEncipherOnly,
	certificatesv1.UsageDecipherOnly:      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[certificatesv1.KeyUsage]x509.ExtKeyUsage{
	certificatesv1.UsageAny:             x509.ExtKeyUsageAny,
	certificatesv1.UsageServerAuth:      x509.ExtKeyUsageServerAuth,
	certificatesv1.UsageClientAuth:      x509.ExtKeyUsageClientAuth,
	certificatesv1.UsageCodeSigning:     x509.ExtKeyUsageCodeSigning,
	certificatesv1.UsageEmailProtection: x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageSMIME:           x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageIPsecEndSystem:  x509.ExtKeyUsageIPSECEndSystem,
	certificatesv1.UsageIPsecTunnel:     x509.ExtKeyUsageIPSECTunnel,
	certificatesv1.UsageIPsecUser:       x509.ExtKeyUsageIPSECUser,
	certificatesv1.UsageTimestamping:    x509.ExtKeyUsageTimeStamping,
	certificatesv1.UsageOCSPSigning:     x509.ExtKeyUsageOCSPSigning,
	certificatesv1.UsageMicrosoftSGC:    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	certificatesv1.UsageNetscapeSGC:     x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

// toX509Usages maps CSR usages to certificate key and extended key usages,
// sorted for stable output.
func toX509Usages(usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var ku x509.KeyUsage
	ext := sets.New[int]()
	for _, u := range usages {
		if k, ok := keyUsages[u]; ok {
			ku |= k
			continue
		}
		if e, ok := extKeyUsages[u]; ok {
			ext.Insert(int(e))
			continue
		}
		return 0, nil, fmt.Errorf("unknown key usage %q", u)
	}
	var out []x509.ExtKeyUsage
	for _, e := range sets.List(ext) {
		out = append(out, x509.ExtKeyUsage(e))
	}
	return ku, out, nil
}

// Sign issues a certificate for req, valid from now-backdate for ttl (never
// past the CA's own expiry), and returns it PEM-encoded.
func (ca *CA) Sign(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage, ttl time.Duration, now time.Time) ([]byte, error) {
	if !now.Before(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("refusing to sign a certificate: the signing CA expired at %s", ca.Cert.NotAfter)
	}
	ku, ext, err := toX509Usages(usages)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject,
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPAddresses,
		EmailAddresses:        req.EmailAddresses,
		URIs:                  req.URIs,
		PublicKeyAlgorithm:    req.PublicKeyAlgorithm,
		PublicKey:             req.PublicKey,
		Extensions:            req.Extensions,
		ExtraExtensions:       req.ExtraExtensions,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(ttl),
		KeyUsage:              ku,
		ExtKeyUsage:           ext,
		BasicConstraintsValid: true,
		IsCA:                  false,
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, req.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	var buf bytes.Buffer
	if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
