package certificates_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/controllers/controllertest"
)

// TestKubeletServingApproval: a node's serving CSR is approved and signed
// when its SANs are the node's own addresses, and left pending when it
// claims a name the node does not have or comes from another node.
func TestKubeletServingApproval(t *testing.T) {
	ctx := controllertest.Context(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "serving-1"}}
	created, err := env.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Nodes().Delete(context.Background(), node.Name, metav1.DeleteOptions{})
	})
	created.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "serving-1"},
		{Type: corev1.NodeInternalIP, Address: "10.9.0.1"},
	}
	if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set node addresses: %v", err)
	}
	for _, u := range []string{"system:node:serving-1", "system:node:serving-2"} {
		bind(t, "test-serving-csr-"+u[len("system:node:"):], "system:node-bootstrapper", rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u})
	}
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	subject := pkix.Name{CommonName: "system:node:serving-1", Organization: []string{"system:nodes"}}

	tests := []struct {
		name     string
		user     string
		dns      []string
		ips      []net.IP
		approved bool
	}{
		// Pending cases first, so that they have been looked at by the time
		// the approved one is.
		{"SAN not of the node", "system:node:serving-1", []string{"serving-1", "evil.example"}, nil, false},
		{"IP not of the node", "system:node:serving-1", nil, []net.IP{net.ParseIP("10.9.0.2")}, false},
		{"requested by another node", "system:node:serving-2", []string{"serving-1"}, nil, false},
		{"own addresses", "system:node:serving-1", []string{"serving-1"}, []net.IP{net.ParseIP("10.9.0.1")}, true},
	}
	names := map[string]string{}
	keys := map[string]*ecdsa.PrivateKey{}
	for _, tc := range tests {
		key, req := csrPEM(t, subject, tc.dns, tc.ips)
		keys[tc.name] = key
		client := impersonate(t, tc.user, "system:nodes", "system:authenticated")
		csr := &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "serving-"},
			Spec:       certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: certificatesv1.KubeletServingSignerName, Usages: usages},
		}
		var got *certificatesv1.CertificateSigningRequest
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			var err error
			got, err = client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
			return err == nil, err
		}, "%s creates a serving CSR", tc.user)
		names[tc.name] = got.Name
		t.Cleanup(func() {
			_ = env.Client.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), got.Name, metav1.DeleteOptions{})
		})
	}
	for _, tc := range tests {
		if !tc.approved {
			continue
		}
		got := waitCSR(t, names[tc.name], "approved and issued", func(c *certificatesv1.CertificateSigningRequest) bool { return len(c.Status.Certificate) > 0 })
		c := findCondition(got, certificatesv1.CertificateApproved)
		if c == nil || c.Reason != certificates.ReasonAutoApproved || c.Message != certificates.MessageAutoApprovedServing {
			t.Errorf("%s: Approved condition = %+v", tc.name, c)
		}
		cert := verify(t, got, keys[tc.name], x509.ExtKeyUsageServerAuth)
		if len(cert.DNSNames) != len(tc.dns) || len(cert.IPAddresses) != len(tc.ips) {
			t.Errorf("%s: certificate SANs %v %v, want %v %v", tc.name, cert.DNSNames, cert.IPAddresses, tc.dns, tc.ips)
		}
	}
	for _, tc := range tests {
		if tc.approved {
			continue
		}
		got, err := env.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, names[tc.name], metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c := findCondition(got, certificatesv1.CertificateApproved); c != nil {
			t.Errorf("%s: approved: %+v", tc.name, c)
		}
	}
}
