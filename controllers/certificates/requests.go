package certificates

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// parseCSR decodes the PEM CERTIFICATE REQUEST of a CSR.
func parseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate request: %w", err)
	}
	return req, nil
}

func usageSet(usages []certificatesv1.KeyUsage) sets.Set[string] {
	s := sets.New[string]()
	for _, u := range usages {
		s.Insert(string(u))
	}
	return s
}

var (
	kubeletClientUsages       = sets.New(string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageKeyEncipherment), string(certificatesv1.UsageClientAuth))
	kubeletClientUsagesNoRSA  = sets.New(string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageClientAuth))
	kubeletServingUsages      = sets.New(string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageKeyEncipherment), string(certificatesv1.UsageServerAuth))
	kubeletServingUsagesNoRSA = sets.New(string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageServerAuth))
	apiserverClientUsages     = sets.New(string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageKeyEncipherment), string(certificatesv1.UsageClientAuth))
)

const nodeUserPrefix = "system:node:"

// LegacyUnknownSignerName is the signer of certificates.k8s.io/v1beta1 CSRs
// that named none.
const LegacyUnknownSignerName = "kubernetes.io/legacy-unknown"

// validateKubeletClient checks a kubelet client certificate request: subject
// O=system:nodes, CN=system:node:<name>, no SANs, usages digital signature
// and client auth (key encipherment allowed).
func validateKubeletClient(req *x509.CertificateRequest, usages sets.Set[string]) error {
	if !sets.New(req.Subject.Organization...).Equal(sets.New("system:nodes")) || len(req.Subject.Organization) != 1 {
		return fmt.Errorf("subject organization is not system:nodes")
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) {
		return fmt.Errorf("subject common name does not begin with %s", nodeUserPrefix)
	}
	if len(req.DNSNames) > 0 {
		return fmt.Errorf("DNS subjectAltNames are not allowed")
	}
	if len(req.EmailAddresses) > 0 {
		return fmt.Errorf("email subjectAltNames are not allowed")
	}
	if len(req.IPAddresses) > 0 {
		return fmt.Errorf("IP subjectAltNames are not allowed")
	}
	if len(req.URIs) > 0 {
		return fmt.Errorf("URI subjectAltNames are not allowed")
	}
	if !usages.Equal(kubeletClientUsages) && !usages.Equal(kubeletClientUsagesNoRSA) {
		return fmt.Errorf("usages did not match %v", sets.List(kubeletClientUsagesNoRSA))
	}
	return nil
}

// validateKubeletServing checks a kubelet serving certificate request:
// subject O=system:nodes, CN=system:node:<name>, DNS or IP SANs only, usages
// digital signature and server auth (key encipherment allowed).
func validateKubeletServing(req *x509.CertificateRequest, usages sets.Set[string]) error {
	if !sets.New(req.Subject.Organization...).Equal(sets.New("system:nodes")) || len(req.Subject.Organization) != 1 {
		return fmt.Errorf("subject organization is not system:nodes")
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) {
		return fmt.Errorf("subject common name does not begin with %s", nodeUserPrefix)
	}
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return fmt.Errorf("DNS or IP subjectAltName is required")
	}
	if len(req.EmailAddresses) > 0 {
		return fmt.Errorf("email subjectAltNames are not allowed")
	}
	if len(req.URIs) > 0 {
		return fmt.Errorf("URI subjectAltNames are not allowed")
	}
	if !usages.Equal(kubeletServingUsages) && !usages.Equal(kubeletServingUsagesNoRSA) {
		return fmt.Errorf("usages did not match %v", sets.List(kubeletServingUsagesNoRSA))
	}
	return nil
}

// validateAPIServerClient checks a kube-apiserver-client request: client
// usages only.
func validateAPIServerClient(_ *x509.CertificateRequest, usages sets.Set[string]) error {
	if !apiserverClientUsages.IsSuperset(usages) {
		return fmt.Errorf("invalid usage for client certificate: %v", sets.List(usages.Difference(apiserverClientUsages)))
	}
	return nil
}

// signerValidators are the signers csrsigning signs, each with its checks.
var signerValidators = map[string]func(*x509.CertificateRequest, sets.Set[string]) error{
	certificatesv1.KubeAPIServerClientSignerName:        validateAPIServerClient,
	certificatesv1.KubeAPIServerClientKubeletSignerName: validateKubeletClient,
	certificatesv1.KubeletServingSignerName:             validateKubeletServing,
	LegacyUnknownSignerName:                             func(*x509.CertificateRequest, sets.Set[string]) error { return nil },
}

// condition returns the CSR's condition of type t, or nil.
func condition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequestCondition {
	for i := range csr.Status.Conditions {
		if csr.Status.Conditions[i].Type == t && csr.Status.Conditions[i].Status != corev1.ConditionFalse {
			return &csr.Status.Conditions[i]
		}
	}
	return nil
}

// approvedOrDenied reports whether a decision was made.
func approvedOrDenied(csr *certificatesv1.CertificateSigningRequest) (approved, denied bool) {
	return condition(csr, certificatesv1.CertificateApproved) != nil, condition(csr, certificatesv1.CertificateDenied) != nil
}
