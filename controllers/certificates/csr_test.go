package certificates_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/controllers/controllertest"
)

// csrPEM makes a key and a PEM certificate request for subject.
func csrPEM(t *testing.T, subject pkix.Name, dns []string, ips []net.IP) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dns, IPAddresses: ips}, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func bind(t *testing.T, name, role string, subject rbacv1.Subject) {
	t.Helper()
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{subject},
	}
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(context.Background(), crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("bind %s: %v", role, err)
	}
	t.Cleanup(func() {
		_ = env.Client.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

func impersonate(t *testing.T, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return kubernetes.NewForConfigOrDie(cfg)
}

func waitCSR(t *testing.T, name, what string, cond func(*certificatesv1.CertificateSigningRequest) bool) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	var got *certificatesv1.CertificateSigningRequest
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		got, err = env.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		return err == nil && cond(got), err
	}, "CSR %s %s", name, what)
	return got
}

func findCondition(csr *certificatesv1.CertificateSigningRequest, typ certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequestCondition {
	for i := range csr.Status.Conditions {
		if csr.Status.Conditions[i].Type == typ {
			return &csr.Status.Conditions[i]
		}
	}
	return nil
}

// verify parses the issued certificate and checks it chains to the CA for
// usage and belongs to key.
func verify(t *testing.T, csr *certificatesv1.CertificateSigningRequest, key *ecdsa.PrivateKey, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(csr.Status.Certificate)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("status.certificate is not a PEM certificate: %q", csr.Status.Certificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse issued certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Fatalf("issued certificate does not chain to the CA: %v", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Fatal("issued certificate is not for the requested key")
	}
	if cert.IsCA {
		t.Fatal("issued certificate is a CA")
	}
	return cert
}

// TestBootstrapKubeletClientCSR: a bootstrap token user asks for a node's
// client certificate; the SubjectAccessReview on
// certificatesigningrequests/nodeclient allows it, so the request is
// approved and signed, for the requested duration.
func TestBootstrapKubeletClientCSR(t *testing.T) {
	ctx := controllertest.Context(t)
	group := rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:bootstrappers"}
	bind(t, "test-bootstrappers-create-csrs", "system:node-bootstrapper", group)
	bind(t, "test-bootstrappers-nodeclient", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group)
	bootstrap := impersonate(t, "system:bootstrap:abcdef", "system:bootstrappers", "system:authenticated")

	key, req := csrPEM(t, pkix.Name{CommonName: "system:node:worker-1", Organization: []string{"system:nodes"}}, nil, nil)
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           req,
			SignerName:        certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			ExpirationSeconds: ptr.To[int32](3600),
		},
	}
	var created *certificatesv1.CertificateSigningRequest
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		// RBAC bindings take effect as the authorizer's cache catches up.
		created, err = bootstrap.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
		return err == nil, err
	}, "bootstrap user creates a CSR")
	if created.Spec.Username != "system:bootstrap:abcdef" {
		t.Fatalf("CSR username = %q", created.Spec.Username)
	}
	t.Cleanup(func() {
		_ = env.Client.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})

	got := waitCSR(t, created.Name, "approved and issued", func(c *certificatesv1.CertificateSigningRequest) bool { return len(c.Status.Certificate) > 0 })
	approved := findCondition(got, certificatesv1.CertificateApproved)
	if approved == nil || approved.Status != corev1.ConditionTrue || approved.Reason != certificates.ReasonAutoApproved || approved.Message != certificates.MessageAutoApproved {
		t.Fatalf("Approved condition = %+v", approved)
	}
	cert := verify(t, got, key, x509.ExtKeyUsageClientAuth)
	if cert.Subject.CommonName != "system:node:worker-1" || strings.Join(cert.Subject.Organization, ",") != "system:nodes" {
		t.Errorf("certificate subject = %s", cert.Subject)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d < time.Hour || d > time.Hour+10*time.Minute {
		t.Errorf("certificate valid for %s, want about the requested hour (plus backdating)", d)
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("key usage %v lacks digital signature", cert.KeyUsage)
	}
	_ = ctx
}

// approve approves a CSR as an admin would (kubectl certificate approve).
func approve(t *testing.T, csr *certificatesv1.CertificateSigningRequest) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		c, err := env.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "KubectlApprove", Message: "approved by test",
		})
		_, err = env.Client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, c.Name, c, metav1.UpdateOptions{})
		return err == nil, err
	}, "approve CSR %s", csr.Name)
}

func createCSR(t *testing.T, signer string, req []byte, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"},
		Spec:       certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: signer, Usages: usages},
	}
	created, err := env.Client.CertificatesV1().CertificateSigningRequests().Create(context.Background(), csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create CSR: %v", err)
	}
	t.Cleanup(func() {
		_ = env.Client.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})
	return created
}

// TestSigners: approved requests of each signer are signed with the usages
// asked for, or failed when the signer may not sign them.
func TestSigners(t *testing.T) {
	nodeSubject := pkix.Name{CommonName: "system:node:worker-2", Organization: []string{"system:nodes"}}
	tests := []struct {
		name     string
		signer   string
		subject  pkix.Name
		dns      []string
		ips      []net.IP
		usages   []certificatesv1.KeyUsage
		wantExt  x509.ExtKeyUsage
		wantFail bool
	}{
		{"kube-apiserver-client", certificatesv1.KubeAPIServerClientSignerName, pkix.Name{CommonName: "alice", Organization: []string{"devs"}}, nil, nil,
			[]certificatesv1.KeyUsage{certificatesv1.UsageClientAuth, certificatesv1.UsageDigitalSignature}, x509.ExtKeyUsageClientAuth, false},
		{"kubelet-serving", certificatesv1.KubeletServingSignerName, nodeSubject, []string{"worker-2.example"}, []net.IP{net.ParseIP("10.0.0.2")},
			[]certificatesv1.KeyUsage{certificatesv1.UsageServerAuth, certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment}, x509.ExtKeyUsageServerAuth, false},
		{"kubelet-serving without SANs fails", certificatesv1.KubeletServingSignerName, nodeSubject, nil, nil,
			[]certificatesv1.KeyUsage{certificatesv1.UsageServerAuth, certificatesv1.UsageDigitalSignature}, 0, true},
		{"kube-apiserver-client with server auth fails", certificatesv1.KubeAPIServerClientSignerName, pkix.Name{CommonName: "bob"}, nil, nil,
			[]certificatesv1.KeyUsage{certificatesv1.UsageServerAuth, certificatesv1.UsageDigitalSignature}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, req := csrPEM(t, tc.subject, tc.dns, tc.ips)
			csr := createCSR(t, tc.signer, req, tc.usages...)
			approve(t, csr)
			if tc.wantFail {
				got := waitCSR(t, csr.Name, "failed", func(c *certificatesv1.CertificateSigningRequest) bool {
					return findCondition(c, certificatesv1.CertificateFailed) != nil
				})
				if c := findCondition(got, certificatesv1.CertificateFailed); c.Reason != certificates.ReasonSignerValidationFailure || len(got.Status.Certificate) > 0 {
					t.Errorf("Failed condition %+v, certificate %d bytes", c, len(got.Status.Certificate))
				}
				return
			}
			got := waitCSR(t, csr.Name, "issued", func(c *certificatesv1.CertificateSigningRequest) bool { return len(c.Status.Certificate) > 0 })
			cert := verify(t, got, key, tc.wantExt)
			if d := cert.NotAfter.Sub(cert.NotBefore); d > signingDuration+10*time.Minute {
				t.Errorf("certificate valid for %s, beyond the signing duration %s", d, signingDuration)
			}
			if strings.Join(cert.DNSNames, ",") != strings.Join(tc.dns, ",") || len(cert.IPAddresses) != len(tc.ips) {
				t.Errorf("SANs %v %v, want %v %v", cert.DNSNames, cert.IPAddresses, tc.dns, tc.ips)
			}
		})
	}
}

// TestCleanerDeletesOldDenied: a request denied more than an hour ago goes.
func TestCleanerDeletesOldDenied(t *testing.T) {
	_, req := csrPEM(t, pkix.Name{CommonName: "carol"}, nil, nil)
	csr := createCSR(t, certificatesv1.KubeAPIServerClientSignerName, req, certificatesv1.UsageClientAuth)
	fresh := createCSR(t, certificatesv1.KubeAPIServerClientSignerName, req, certificatesv1.UsageClientAuth)
	deny := func(name string, at time.Time) {
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			c, err := env.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
				Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue, Reason: "KubectlDeny",
				LastUpdateTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at),
			})
			_, err = env.Client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, c.Name, c, metav1.UpdateOptions{})
			return err == nil, err
		}, "deny CSR %s", name)
	}
	deny(fresh.Name, time.Now())
	deny(csr.Name, time.Now().Add(-2*time.Hour))
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		_, err := env.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}, "CSR denied two hours ago deleted")
	// Both were denied before the old one went; the cleaner saw both.
	if _, err := env.Client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), fresh.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("CSR denied just now: %v, want it kept", err)
	}
}
