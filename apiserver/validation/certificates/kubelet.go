package certificates

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// The errors of the kubelet request checks, worded as upstream's.
var (
	errOrganizationNotNodes = errors.New("subject organization is not system:nodes")
	errCommonNameNotNode    = errors.New("subject common name does not begin with system:node:")
	errDNSOrIPRequired      = errors.New("DNS or IP subjectAltName is required")
	errDNSNotAllowed        = errors.New("DNS subjectAltNames are not allowed")
	errEmailNotAllowed      = errors.New("Email subjectAltNames are not allowed")
	errIPNotAllowed         = errors.New("IP subjectAltNames are not allowed")
	errURINotAllowed        = errors.New("URI subjectAltNames are not allowed")
)

// Exactly one of each pair of usage sets is acceptable; the second leaves
// out key encipherment, which only RSA keys need.
var (
	kubeletServingUsages      = sets.New(certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth)
	kubeletServingUsagesNoRSA = sets.New(certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth)
	kubeletClientUsages       = sets.New(certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth)
	kubeletClientUsagesNoRSA  = sets.New(certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth)
)

// ValidateKubeletServingRequest checks that req is what a kubelet asks the
// kubernetes.io/kubelet-serving signer for: organization exactly
// system:nodes, at least one DNS or IP SAN, no email or URI SANs, the
// serving usages, and a "system:node:" common name. Upstream's approver and
// signer apply it; API validation does not.
func ValidateKubeletServingRequest(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{"system:nodes"}) {
		return errOrganizationNotNodes
	}
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return errDNSOrIPRequired
	}
	if len(req.EmailAddresses) > 0 {
		return errEmailNotAllowed
	}
	if len(req.URIs) > 0 {
		return errURINotAllowed
	}
	if have := sets.New(usages...); !have.Equal(kubeletServingUsages) && !have.Equal(kubeletServingUsagesNoRSA) {
		return fmt.Errorf("usages did not match %v", sortedStrings(kubeletServingUsages))
	}
	if !strings.HasPrefix(req.Subject.CommonName, "system:node:") {
		return errCommonNameNotNode
	}
	return nil
}

// ValidateKubeletClientRequest checks that req is what a kubelet asks the
// kubernetes.io/kube-apiserver-client-kubelet signer for: organization
// exactly system:nodes, no SANs at all, a "system:node:" common name and
// the client usages. Upstream's approver and signer apply it; API
// validation does not.
func ValidateKubeletClientRequest(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{"system:nodes"}) {
		return errOrganizationNotNodes
	}
	switch {
	case len(req.DNSNames) > 0:
		return errDNSNotAllowed
	case len(req.EmailAddresses) > 0:
		return errEmailNotAllowed
	case len(req.IPAddresses) > 0:
		return errIPNotAllowed
	case len(req.URIs) > 0:
		return errURINotAllowed
	}
	if !strings.HasPrefix(req.Subject.CommonName, "system:node:") {
		return errCommonNameNotNode
	}
	if have := sets.New(usages...); !have.Equal(kubeletClientUsages) && !have.Equal(kubeletClientUsagesNoRSA) {
		return fmt.Errorf("usages did not match %v", sortedStrings(kubeletClientUsages))
	}
	return nil
}

func sortedStrings(s sets.Set[certificatesv1.KeyUsage]) []string {
	out := make([]string, 0, s.Len())
	for u := range s {
		out = append(out, string(u))
	}
	slices.Sort(out)
	return out
}
