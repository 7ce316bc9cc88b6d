package certificates

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// MessageAutoApprovedServing is the Approved condition's message of a
// kubelet serving CSR Skiff approves.
const MessageAutoApprovedServing = "Auto approving kubelet serving certificate: requested by its node, for the node's own addresses."

// isKubeletServing: a kubelet serving certificate request that is well
// formed and comes from the node it names (user system:node:<name> in
// system:nodes, CN system:node:<name>).
func isKubeletServing(csr *certificatesv1.CertificateSigningRequest) (*x509.CertificateRequest, string, bool) {
	if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName {
		return nil, "", false
	}
	req, err := parseCSR(csr.Spec.Request)
	if err != nil || validateKubeletServing(req, usageSet(csr.Spec.Usages)) != nil {
		return nil, "", false
	}
	node, ok := strings.CutPrefix(csr.Spec.Username, nodeUserPrefix)
	if !ok || node == "" || csr.Spec.Username != req.Subject.CommonName || !slices.Contains(csr.Spec.Groups, "system:nodes") {
		return nil, "", false
	}
	return req, node, true
}

// servingSANsAreNodes checks that every DNS and IP SAN of req is one of the
// Node's status.addresses. Upstream leaves kubelet serving CSRs to an
// external approver; Skiff approves those that claim nothing but their own
// node's names and addresses, which is what such approvers check.
func (r *approver) servingSANsAreNodes(ctx context.Context, req *x509.CertificateRequest, nodeName string) (bool, string, error) {
	var node corev1.Node
	if err := r.reader.Get(ctx, types.NamespacedName{Name: nodeName}, &node); err != nil {
		if apierrors.IsNotFound(err) {
			return false, "node does not exist", nil
		}
		return false, "", fmt.Errorf("get node %s: %w", nodeName, err)
	}
	names, ips := map[string]bool{}, map[string]bool{}
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			names[a.Address] = true
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			if ip := net.ParseIP(a.Address); ip != nil {
				ips[ip.String()] = true
			}
		}
	}
	for _, n := range req.DNSNames {
		if !names[n] {
			return false, fmt.Sprintf("DNS name %q is not an address of the node", n), nil
		}
	}
	for _, ip := range req.IPAddresses {
		if !ips[ip.String()] {
			return false, fmt.Sprintf("IP address %s is not an address of the node", ip), nil
		}
	}
	return true, "", nil
}
