package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func requestPEM(t *testing.T, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func certificatePEM(t *testing.T) []byte {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func csr(t *testing.T, mutate func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	c := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-1", ResourceVersion: "1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    requestPEM(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}),
			SignerName: certificatesv1.KubeAPIServerClientSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

func condition(t certificatesv1.RequestConditionType, status corev1.ConditionStatus) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: status, Reason: "R"}
}

func TestValidateCertificateSigningRequest(t *testing.T) {
	cert := certificatePEM(t)
	// A request whose signature no longer matches its content.
	tampered := func() []byte {
		block, _ := pem.Decode(requestPEM(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "bob"}}))
		block.Bytes[len(block.Bytes)-1] ^= 0xff
		return pem.EncodeToMemory(block)
	}()
	tests := []struct {
		name string
		csr  *certificatesv1.CertificateSigningRequest
		want []vt.Want
	}{
		{name: "valid", csr: csr(t, nil)},
		{name: "any name, custom signer, expiration", csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
			c.Name = "Any Name At All"
			c.Spec.SignerName = "example.com/my-signer.v1"
			c.Spec.ExpirationSeconds = ptr.To[int32](600)
		})},
		{name: "approved and issued", csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{condition(certificatesv1.CertificateApproved, corev1.ConditionTrue), condition("Custom", corev1.ConditionFalse)}
			c.Status.Certificate = cert
		})},
		{
			name: "request must be a PEM CSR",
			csr:  csr(t, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = cert }),
			want: []vt.Want{vt.Invalid("spec.request", "PEM block type must be CERTIFICATE REQUEST")},
		},
		{
			name: "request must parse",
			csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Request = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("junk")})
			}),
			want: []vt.Want{vt.Invalid("spec.request", "asn1")},
		},
		{
			name: "request signature must verify",
			csr:  csr(t, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = tampered }),
			want: []vt.Want{vt.Invalid("spec.request", "")},
		},
		{
			name: "usages",
			csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Usages = []certificatesv1.KeyUsage{"client auth", "flying", "client auth"}
			}),
			want: []vt.Want{
				vt.NotSupported("spec.usages[1]", `supported values: "any", "cert sign", "client auth"`),
				{Type: "FieldValueDuplicate", Field: "spec.usages[2]"},
			},
		},
		{
			name: "usages required",
			csr:  csr(t, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil }),
			want: []vt.Want{vt.Required("spec.usages", "")},
		},
		{
			name: "legacy signer",
			csr:  csr(t, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = LegacyUnknownSignerName }),
			want: []vt.Want{vt.Invalid("spec.signerName", "the legacy signerName is not allowed via this API version")},
		},
		{
			name: "expiration too short",
			csr:  csr(t, func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = ptr.To[int32](599) }),
			want: []vt.Want{vt.Invalid("spec.expirationSeconds", "may not specify a duration less than 600 seconds (10 minutes)")},
		},
		{
			name: "conditions",
			csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{
					condition("", corev1.ConditionTrue),
					condition(certificatesv1.CertificateApproved, corev1.ConditionFalse),
					condition(certificatesv1.CertificateDenied, corev1.ConditionTrue),
					condition("Custom", ""),
					condition("Other", "Maybe"),
					condition("Custom", corev1.ConditionTrue),
				}
			}),
			want: []vt.Want{
				vt.Required("status.conditions[0].type", ""),
				vt.NotSupported("status.conditions[1].status", `supported values: "True"`),
				vt.Invalid("status.conditions", "Approved and Denied conditions are mutually exclusive"),
				vt.Required("status.conditions[3].status", ""),
				vt.NotSupported("status.conditions[4].status", `supported values: "False", "True", "Unknown"`),
				{Type: "FieldValueDuplicate", Field: "status.conditions[5].type"},
			},
		},
		{
			name: "certificate must be PEM certificates",
			csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Certificate = []byte("not pem")
			}),
			want: []vt.Want{vt.Invalid("status.certificate", "must contain at least one CERTIFICATE PEM block")},
		},
		{
			name: "certificate block type",
			csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")})
			}),
			want: []vt.Want{vt.Invalid("status.certificate", `only CERTIFICATE PEM blocks are allowed, found "PRIVATE KEY"`)},
		},
		{
			name: "certificate headers",
			csr: csr(t, func(c *certificatesv1.CertificateSigningRequest) {
				block, _ := pem.Decode(cert)
				block.Headers = map[string]string{"a": "b"}
				c.Status.Certificate = pem.EncodeToMemory(block)
			}),
			want: []vt.Want{vt.Invalid("status.certificate", "no PEM block headers are permitted")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateCertificateSigningRequest(tt.csr), tt.want...)
		})
	}
}

func TestValidateSignerName(t *testing.T) {
	tests := []struct {
		signer string
		want   []vt.Want
	}{
		{signer: "kubernetes.io/kubelet-serving"},
		{signer: "example.com/ns.name"},
		{signer: "", want: []vt.Want{vt.Required("signerName", "")}},
		{signer: "example.com", want: []vt.Want{vt.Invalid("signerName", "must be a fully qualified domain and path of the form 'example.com/signer-name'")}},
		{signer: "a/b/c", want: []vt.Want{vt.Invalid("signerName", "of the form 'example.com/signer-name'")}},
		{signer: "localhost/x", want: []vt.Want{vt.Invalid("signerName", "should be a domain with at least two segments separated by dots")}},
		{signer: "Example.com/x", want: []vt.Want{vt.Invalid("signerName", `validating label "Example": a lowercase RFC 1123 label`)}},
		{signer: "example.com/Bad_Path", want: []vt.Want{vt.Invalid("signerName", `validating label "Bad_Path": a lowercase RFC 1123 subdomain`)}},
		{signer: strings.Repeat("a.", 127) + "bc/x", want: []vt.Want{vt.TooLong("signerName", "may not be more than 253 bytes")}},
	}
	for _, tt := range tests {
		t.Run(tt.signer, func(t *testing.T) {
			vt.Expect(t, ValidateSignerName(field.NewPath("signerName"), tt.signer), tt.want...)
		})
	}
}

func TestValidateCertificateSigningRequestUpdates(t *testing.T) {
	cert := certificatePEM(t)
	base := csr(t, nil)
	with := func(mutate func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
		c := base.DeepCopy()
		mutate(c)
		return c
	}
	approved := with(func(c *certificatesv1.CertificateSigningRequest) {
		c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{condition(certificatesv1.CertificateApproved, corev1.ConditionTrue)}
	})
	issued := with(func(c *certificatesv1.CertificateSigningRequest) {
		c.Status.Conditions = approved.Status.Conditions
		c.Status.Certificate = cert
	})
	tests := []struct {
		name     string
		validate func(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList
		csr, old *certificatesv1.CertificateSigningRequest
		want     []vt.Want
	}{
		{name: "main: labels", validate: update, old: base, csr: with(func(c *certificatesv1.CertificateSigningRequest) { c.Labels = map[string]string{"a": "b"} })},
		{
			name: "main: may not approve", validate: update, old: base, csr: approved,
			want: []vt.Want{vt.Forbidden("status.conditions", `updates may not add a condition of type "Approved"`)},
		},
		{
			name: "main: may not set the certificate", validate: update, old: approved, csr: issued,
			want: []vt.Want{vt.Forbidden("status.certificate", "updates may not set certificate content")},
		},
		{name: "approval: may approve", validate: approval, old: base, csr: approved},
		{
			name: "approval: may not remove approval", validate: approval, old: approved, csr: base,
			want: []vt.Want{vt.Forbidden("status.conditions", `updates may not remove a condition of type "Approved"`)},
		},
		{
			name: "approval: may not issue", validate: approval, old: approved, csr: issued,
			want: []vt.Want{vt.Forbidden("status.certificate", "updates may not set certificate content")},
		},
		{name: "status: may issue", validate: status, old: approved, csr: issued},
		{
			name: "status: may not approve", validate: status, old: base, csr: approved,
			want: []vt.Want{vt.Forbidden("status.conditions", `updates may not add a condition of type "Approved"`)},
		},
		{
			name: "status: may not change approval", validate: status, old: approved,
			csr: with(func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{condition(certificatesv1.CertificateApproved, corev1.ConditionTrue)}
				c.Status.Conditions[0].Reason = "Changed"
			}),
			want: []vt.Want{vt.Forbidden("status.conditions", `updates may not modify a condition of type "Approved"`)},
		},
		{
			name: "status: may not replace the certificate", validate: status, old: issued,
			csr: with(func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Conditions = issued.Status.Conditions
				c.Status.Certificate = certificatePEM(t)
			}),
			want: []vt.Want{vt.Forbidden("status.certificate", "updates may not modify existing certificate content")},
		},
		{
			name: "status: may add Failed but not remove it", validate: status,
			old: with(func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{condition(certificatesv1.CertificateFailed, corev1.ConditionTrue)}
			}),
			csr:  base,
			want: []vt.Want{vt.Forbidden("status.conditions", `updates may not remove a condition of type "Failed"`)},
		},
		{
			name: "stored flaws are tolerated", validate: update,
			old: with(func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.SignerName = LegacyUnknownSignerName
				c.Spec.Usages = []certificatesv1.KeyUsage{"odd", "odd"}
				c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{
					condition(certificatesv1.CertificateApproved, corev1.ConditionTrue), condition(certificatesv1.CertificateDenied, corev1.ConditionTrue),
					condition("", corev1.ConditionTrue), condition("", corev1.ConditionTrue),
				}
				c.Status.Certificate = []byte("garbage")
			}),
			csr: with(func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.SignerName = LegacyUnknownSignerName
				c.Spec.Usages = []certificatesv1.KeyUsage{"odd", "odd"}
				c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{
					condition(certificatesv1.CertificateApproved, corev1.ConditionTrue), condition(certificatesv1.CertificateDenied, corev1.ConditionTrue),
					condition("", corev1.ConditionTrue), condition("", corev1.ConditionTrue),
				}
				c.Status.Certificate = []byte("garbage")
				c.Labels = map[string]string{"touched": "yes"}
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, tt.validate(tt.csr, tt.old), tt.want...)
		})
	}
}

func TestKubeletRequests(t *testing.T) {
	node := pkix.Name{CommonName: "system:node:node-1", Organization: []string{"system:nodes"}}
	client := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	clientRSA := []certificatesv1.KeyUsage{certificatesv1.UsageKeyEncipherment, certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	serving := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	parse := func(tmpl x509.CertificateRequest) *x509.CertificateRequest {
		req, err := ParseRequest(requestPEM(t, &tmpl))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name    string
		serving bool
		req     x509.CertificateRequest
		usages  []certificatesv1.KeyUsage
		want    string
	}{
		{name: "client", req: x509.CertificateRequest{Subject: node}, usages: client},
		{name: "client with RSA usages", req: x509.CertificateRequest{Subject: node}, usages: clientRSA},
		{name: "client organization", req: x509.CertificateRequest{Subject: pkix.Name{CommonName: node.CommonName, Organization: []string{"system:nodes", "x"}}}, usages: client, want: "subject organization is not system:nodes"},
		{name: "client DNS SAN", req: x509.CertificateRequest{Subject: node, DNSNames: []string{"n"}}, usages: client, want: "DNS subjectAltNames are not allowed"},
		{name: "client IP SAN", req: x509.CertificateRequest{Subject: node, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}}, usages: client, want: "IP subjectAltNames are not allowed"},
		{name: "client common name", req: x509.CertificateRequest{Subject: pkix.Name{CommonName: "node-1", Organization: node.Organization}}, usages: client, want: "subject common name does not begin with system:node:"},
		{name: "client usages", req: x509.CertificateRequest{Subject: node}, usages: serving, want: "usages did not match [client auth digital signature key encipherment]"},
		{name: "serving", serving: true, req: x509.CertificateRequest{Subject: node, DNSNames: []string{"node-1"}}, usages: serving},
		{name: "serving without SANs", serving: true, req: x509.CertificateRequest{Subject: node}, usages: serving, want: "DNS or IP subjectAltName is required"},
		{name: "serving URI SAN", serving: true, req: x509.CertificateRequest{Subject: node, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}, URIs: []*url.URL{{Scheme: "spiffe", Host: "x"}}}, usages: serving, want: "URI subjectAltNames are not allowed"},
		{name: "serving email SAN", serving: true, req: x509.CertificateRequest{Subject: node, DNSNames: []string{"n"}, EmailAddresses: []string{"a@b.c"}}, usages: serving, want: "Email subjectAltNames are not allowed"},
		{name: "serving usages", serving: true, req: x509.CertificateRequest{Subject: node, DNSNames: []string{"n"}}, usages: client, want: "usages did not match [digital signature key encipherment server auth]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := ValidateKubeletClientRequest
			if tt.serving {
				check = ValidateKubeletServingRequest
			}
			err := check(parse(tt.req), tt.usages)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

var (
	update   = ValidateCertificateSigningRequestUpdate
	status   = ValidateCertificateSigningRequestStatusUpdate
	approval = ValidateCertificateSigningRequestApprovalUpdate
)
