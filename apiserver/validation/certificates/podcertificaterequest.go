package certificates

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// Limits of PodCertificateRequests, as upstream's internal API defines them.
const (
	MaxStubPKCS10RequestSize          = 10 * 1024
	MaxCertificateChainSize           = 100 * 1024
	MinMaxExpirationSeconds           = 60 * 60
	MaxMaxExpirationSeconds           = 91 * 24 * 60 * 60
	KubernetesMaxMaxExpirationSeconds = 24 * 60 * 60
	maxPCRUIDLength                   = 128
)

var (
	pcrSpecPath      = field.NewPath("spec")
	pcrStatusPath    = field.NewPath("status")
	pkcs10ReqPath    = pcrSpecPath.Child("stubPKCS10Request")
	certChainPath    = pcrStatusPath.Child("certificateChain")
	notBeforePath    = pcrStatusPath.Child("notBefore")
	notAfterPath     = pcrStatusPath.Child("notAfter")
	beginRefreshPath = pcrStatusPath.Child("beginRefreshAt")
	pcrTerminalTypes = []string{certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed}
)

// IsKubernetesSignerName says whether signerName is reserved by the
// Kubernetes project (its domain is kubernetes.io or below it).
func IsKubernetesSignerName(signerName string) bool {
	host, _, _ := strings.Cut(signerName, "/")
	return host == "kubernetes.io" || strings.HasSuffix(host, ".kubernetes.io")
}

// ValidatePodCertificateRequest validates a new PodCertificateRequest as
// upstream's ValidatePodCertificateRequestCreate does: a signer name, pod,
// service account and node names with non-empty UIDs of at most 128 bytes,
// domain-prefixed user annotation keys, a maxExpirationSeconds in
// [1h, 24h] for Kubernetes signers and [1h, 91d] otherwise, and a stub
// PKCS#10 request, correctly signed, for an Ed25519, ECDSA P-256/384/521 or
// RSA 3072/4096 key.
func ValidatePodCertificateRequest(req *certificatesv1.PodCertificateRequest) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&req.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	spec := &req.Spec
	errs = append(errs, ValidateSignerName(pcrSpecPath.Child("signerName"), spec.SignerName)...)
	if spec.UnverifiedUserAnnotations != nil {
		errs = append(errs, validateUserAnnotations(spec.UnverifiedUserAnnotations, pcrSpecPath.Child("unverifiedUserAnnotations"))...)
	}
	name := func(child, value string) {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(value, false) {
			errs = append(errs, field.Invalid(pcrSpecPath.Child(child), value, msg))
		}
	}
	uid := func(child, value string) {
		if len(value) == 0 {
			errs = append(errs, field.Invalid(pcrSpecPath.Child(child), value, "must not be empty"))
		}
		if len(value) > maxPCRUIDLength {
			errs = append(errs, field.TooLong(pcrSpecPath.Child(child), value, maxPCRUIDLength))
		}
	}
	name("podName", spec.PodName)
	uid("podUID", string(spec.PodUID))
	name("serviceAccountName", spec.ServiceAccountName)
	uid("serviceAccountUID", string(spec.ServiceAccountUID))
	name("nodeName", string(spec.NodeName))
	uid("nodeUID", string(spec.NodeUID))

	expPath := pcrSpecPath.Child("maxExpirationSeconds")
	if spec.MaxExpirationSeconds == nil {
		return append(errs, field.Required(expPath, "must be set"))
	}
	maxExp := int32(MaxMaxExpirationSeconds)
	if IsKubernetesSignerName(spec.SignerName) {
		maxExp = KubernetesMaxMaxExpirationSeconds
	}
	if s := *spec.MaxExpirationSeconds; s < MinMaxExpirationSeconds || s > maxExp {
		errs = append(errs, field.Invalid(expPath, spec.MaxExpirationSeconds, fmt.Sprintf("must be in the range [%d, %d]", MinMaxExpirationSeconds, maxExp)))
	}
	if len(spec.StubPKCS10Request) == 0 {
		return append(errs, field.Invalid(pcrSpecPath, field.OmitValueType{}, "exactly one of (stubPKCS10Request) or (pkixPublicKey, proofOfPossession) must be set"))
	}
	return append(errs, validateStubPKCS10Request(spec.StubPKCS10Request)...)
}

// validateUserAnnotations requires domain-prefixed keys (in any case) and
// the annotation size limit, as upstream's core ValidateUserAnnotations.
func validateUserAnnotations(annotations map[string]string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k := range annotations {
		errs = append(errs, validation.IsDomainPrefixedKey(fldPath, strings.ToLower(k))...)
	}
	if err := apimachineryvalidation.ValidateAnnotationsSize(annotations); err != nil {
		errs = append(errs, field.TooLong(fldPath, "", apimachineryvalidation.TotalAnnotationSizeLimitB))
	}
	return errs
}

func validateStubPKCS10Request(der []byte) field.ErrorList {
	if len(der) > MaxStubPKCS10RequestSize {
		return field.ErrorList{field.TooLong(pkcs10ReqPath, der, MaxStubPKCS10RequestSize)}
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return field.ErrorList{field.Invalid(pkcs10ReqPath, field.OmitValueType{}, "must be a valid PKCS#10 CSR")}
	}
	switch pub := req.PublicKey.(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() && pub.Curve != elliptic.P521() {
			return field.ErrorList{field.Invalid(pkcs10ReqPath, "curve "+pub.Curve.Params().Name, "elliptic public keys must use curve P256, P384, or P521")}
		}
	case *rsa.PublicKey:
		if bits := pub.Size() * 8; bits != 3072 && bits != 4096 {
			return field.ErrorList{field.Invalid(pkcs10ReqPath, fmt.Sprintf("%d-bit modulus", bits), "RSA keys must have modulus size 3072 or 4096")}
		}
	default:
		return field.ErrorList{field.Invalid(pkcs10ReqPath, field.OmitValueType{}, "unknown public key type; supported types are Ed25519, ECDSA, and RSA")}
	}
	// The stub's content is deliberately not checked (kubelets send empty
	// ones; signers judge them), only its signature.
	if err := req.CheckSignature(); err != nil {
		return field.ErrorList{field.Invalid(pkcs10ReqPath, field.OmitValueType{}, "invalid signature")}
	}
	return nil
}

// ValidatePodCertificateRequestUpdate validates an update through the main
// resource: the whole spec is immutable.
func ValidatePodCertificateRequestUpdate(req, old *certificatesv1.PodCertificateRequest) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&req.ObjectMeta, &old.ObjectMeta)
	return append(errs, apimachineryvalidation.ValidateImmutableField(req.Spec, old.Spec, pcrSpecPath)...)
}

// ValidatePodCertificateRequestStatusUpdate validates a write through
// podcertificaterequests/status at time now, as upstream: at most one of
// the conditions Issued, Denied and Failed (no others), with status True; a
// status that is frozen once terminal and unchanged until then; Denied and
// Failed with nothing but conditions; Issued with a PEM chain whose leaf is
// for the requested key, lives between 1h and maxExpirationSeconds, starts
// within 5 minutes of now, and whose notBefore, notAfter and beginRefreshAt
// (10 minutes inside the validity) are set to match.
func ValidatePodCertificateRequestStatusUpdate(req, old *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&req.ObjectMeta, &old.ObjectMeta)
	if len(errs) > 0 {
		return errs
	}
	conditionsPath := pcrStatusPath.Child("conditions")
	known := 0
	for i, c := range req.Status.Conditions {
		// Upstream names these paths "status.conditions.[i].type".
		at := conditionsPath.Child("[" + strconv.Itoa(i) + "]")
		switch c.Type {
		case certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed:
			known++
			if known > 1 {
				errs = append(errs, field.Invalid(at.Child("type"), c.Type, `There may be at most one condition with type "Issued", "Denied", or "Failed"`))
			}
			if c.Status != metav1.ConditionTrue {
				errs = append(errs, field.NotSupported(at.Child("status"), c.Status, []metav1.ConditionStatus{metav1.ConditionTrue}))
			}
		default:
			errs = append(errs, field.NotSupported(at.Child("type"), c.Type, pcrTerminalTypes))
		}
	}
	errs = append(errs, metav1validation.ValidateConditions(req.Status.Conditions, conditionsPath)...)
	if len(errs) > 0 {
		return errs
	}
	issued, denied, failed := pcrState(old)
	if issued || denied || failed {
		return semanticallyEqual(req.Status, old.Status, pcrStatusPath, "immutable after PodCertificateRequest is issued, denied, or failed")
	}
	issued, denied, failed = pcrState(req)
	switch {
	case denied || failed:
		return semanticallyEqual(req.Status, certificatesv1.PodCertificateRequestStatus{Conditions: req.Status.Conditions}, pcrStatusPath,
			"non-condition status fields must be empty when denying or failing the PodCertificateRequest")
	case issued:
		return validateIssued(req, old, now)
	}
	return semanticallyEqual(req.Status, old.Status, pcrStatusPath, `status is immutable unless transitioning to "Issued", "Denied", or "Failed"`)
}

func validateIssued(req, old *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	chain := req.Status.CertificateChain
	if len(chain) > MaxCertificateChainSize {
		return field.ErrorList{field.TooLong(certChainPath, chain, MaxCertificateChainSize)}
	}
	leafBlock, rest := pem.Decode([]byte(chain))
	if leafBlock == nil {
		return field.ErrorList{field.Invalid(certChainPath, chain, "issued certificate chain must contain at least one certificate")}
	}
	if leafBlock.Type != "CERTIFICATE" {
		return field.ErrorList{field.Invalid(certChainPath, chain, "issued certificate chain must consist entirely of CERTIFICATE PEM blocks")}
	}
	leaf, err := x509.ParseCertificate(leafBlock.Bytes)
	if err != nil {
		return field.ErrorList{field.Invalid(certChainPath, chain, "leaf certificate does not parse as valid X.509")}
	}
	var errs field.ErrorList
	for _, name := range leaf.DNSNames {
		if name == "" {
			errs = append(errs, field.Invalid(certChainPath, name, "leaf certificate should not contain empty DNSName"))
		}
		if strings.Contains(name, "..") {
			errs = append(errs, field.Invalid(certChainPath, name, "leaf certificate's DNSName should not contain '..'"))
		}
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			errs = append(errs, field.Invalid(certChainPath, name, "leaf certificate's DNSName should not start or end with '.'"))
		}
	}
	for _, addr := range leaf.EmailAddresses {
		if _, err := mail.ParseAddress(addr); err != nil {
			errs = append(errs, field.Invalid(certChainPath, addr, "leaf certificate should not contain invalid EmailAddress"))
		}
	}
	stub, err := x509.ParseCertificateRequest(old.Spec.StubPKCS10Request)
	if err != nil {
		return append(errs, field.Invalid(pkcs10ReqPath, field.OmitValueType{}, "must be a valid PKCS#10 CSR"))
	}
	if want, ok := stub.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && !want.Equal(leaf.PublicKey) {
		return append(errs, field.Invalid(certChainPath, chain, "leaf certificate was not issued to the requested public key"))
	}
	s := req.Status
	if s.NotBefore == nil {
		errs = append(errs, field.Required(notBeforePath, "must be present and consistent with the issued certificate"))
	}
	if s.NotAfter == nil {
		errs = append(errs, field.Required(notAfterPath, "must be present and consistent with the issued certificate"))
	}
	if s.BeginRefreshAt == nil {
		errs = append(errs, field.Required(beginRefreshPath, "must be present and in the range [notbefore+10min, notafter-10min]"))
	}
	if len(errs) > 0 {
		return errs
	}
	switch lifetime := leaf.NotAfter.Sub(leaf.NotBefore); {
	case !s.NotBefore.Time.Equal(leaf.NotBefore):
		return field.ErrorList{field.Invalid(notBeforePath, s.NotBefore.Time, "must be set to the NotBefore time encoded in the leaf certificate")}
	case !(s.NotBefore.Time.After(now.Add(-5*time.Minute)) && s.NotBefore.Time.Before(now.Add(5*time.Minute))):
		return field.ErrorList{field.Invalid(notBeforePath, s.NotBefore.Time, "must be set to within 5 minutes of kube-apiserver's current time")}
	case !s.NotAfter.Time.Equal(leaf.NotAfter):
		return field.ErrorList{field.Invalid(notAfterPath, s.NotAfter.Time, "must be set to the NotAfter time encoded in the leaf certificate")}
	case lifetime < time.Hour:
		return field.ErrorList{field.Invalid(certChainPath, lifetime, "leaf certificate lifetime must be >= 1 hour")}
	case lifetime > time.Duration(*req.Spec.MaxExpirationSeconds)*time.Second:
		return field.ErrorList{field.Invalid(certChainPath, lifetime, fmt.Sprintf("leaf certificate lifetime must be <= spec.maxExpirationSeconds (%v)", *req.Spec.MaxExpirationSeconds))}
	case s.BeginRefreshAt.Time.Before(s.NotBefore.Time.Add(10 * time.Minute)):
		return field.ErrorList{field.Invalid(beginRefreshPath, s.BeginRefreshAt.Time, "must be at least 10 minutes after status.notBefore")}
	case s.BeginRefreshAt.Time.After(s.NotAfter.Time.Add(-10 * time.Minute)):
		return field.ErrorList{field.Invalid(beginRefreshPath, s.BeginRefreshAt.Time, "must be at least 10 minutes before status.notAfter")}
	}
	// The rest of the chain cannot be verified partially; it must at least
	// be certificates.
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil
		}
		if b.Type != "CERTIFICATE" {
			// Upstream's message has this spelling.
			return field.ErrorList{field.Invalid(certChainPath, chain, "issued certificate chain must consist entirely of CERTFICATE PEM blocks")}
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return field.ErrorList{field.Invalid(certChainPath, chain, "intermediate certificate does not parse as valid X.509")}
		}
	}
}

// pcrState says which terminal conditions r has with status True.
func pcrState(r *certificatesv1.PodCertificateRequest) (issued, denied, failed bool) {
	for _, c := range r.Status.Conditions {
		if c.Status != metav1.ConditionTrue {
			continue
		}
		switch c.Type {
		case certificatesv1.PodCertificateRequestConditionTypeIssued:
			issued = true
		case certificatesv1.PodCertificateRequestConditionTypeDenied:
			denied = true
		case certificatesv1.PodCertificateRequestConditionTypeFailed:
			failed = true
		}
	}
	return issued, denied, failed
}

func semanticallyEqual(a, b any, fldPath *field.Path, detail string) field.ErrorList {
	if apiequality.Semantic.DeepEqual(a, b) {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, detail)}
}
