package certificates

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func stubRequest(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pcr(t *testing.T, key crypto.Signer, mutate func(*certificatesv1.PodCertificateRequest)) *certificatesv1.PodCertificateRequest {
	t.Helper()
	r := &certificatesv1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "default", ResourceVersion: "1"},
		Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: "example.com/signer", PodName: "web", PodUID: "pod-uid", ServiceAccountName: "default", ServiceAccountUID: "sa-uid",
			NodeName: "node-1", NodeUID: "node-uid", MaxExpirationSeconds: ptr.To[int32](86400), StubPKCS10Request: stubRequest(t, key),
		},
	}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func TestValidatePodCertificateRequest(t *testing.T) {
	key := newKey(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  *certificatesv1.PodCertificateRequest
		want []vt.Want
	}{
		{name: "valid ECDSA", req: pcr(t, key, nil)},
		{name: "valid Ed25519 with annotations", req: pcr(t, edKey, func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.UnverifiedUserAnnotations = map[string]string{"Example.com/Foo": "bar"}
		})},
		{name: "identity fields", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.PodName, r.Spec.PodUID = "Web", ""
			r.Spec.ServiceAccountName, r.Spec.ServiceAccountUID = "", "sa-uid"
			r.Spec.NodeName, r.Spec.NodeUID = "node-1", types.UID("x"+strings.Repeat("u", 128))
		}), want: []vt.Want{
			vt.Invalid("spec.podName", "a lowercase RFC 1123 subdomain"),
			vt.Invalid("spec.podUID", "must not be empty"),
			vt.Invalid("spec.serviceAccountName", "a lowercase RFC 1123 subdomain"),
			vt.TooLong("spec.nodeUID", ""),
		}},
		{name: "bad signer and annotation", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.SignerName = "signer"
			r.Spec.UnverifiedUserAnnotations = map[string]string{"foo": "bar"}
		}), want: []vt.Want{
			vt.Invalid("spec.signerName", "must be a fully qualified domain and path of the form 'example.com/signer-name'"),
			vt.Invalid("spec.unverifiedUserAnnotations", "must be a domain-prefixed key (such as \"acme.io/foo\")"),
		}},
		{name: "missing expiration", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = nil }),
			want: []vt.Want{vt.Required("spec.maxExpirationSeconds", "must be set")}},
		{name: "kubernetes signer over a day", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.SignerName = "kubernetes.io/kube-apiserver-client-pod"
			r.Spec.MaxExpirationSeconds = ptr.To[int32](86401)
		}), want: []vt.Want{vt.Invalid("spec.maxExpirationSeconds", "must be in the range [3600, 86400]")}},
		{name: "other signer over 91 days", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.MaxExpirationSeconds = ptr.To[int32](91*86400 + 1)
		}), want: []vt.Want{vt.Invalid("spec.maxExpirationSeconds", "must be in the range [3600, 7862400]")}},
		{name: "under an hour", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = ptr.To[int32](3599) }),
			want: []vt.Want{vt.Invalid("spec.maxExpirationSeconds", "must be in the range [3600, 7862400]")}},
		{name: "no stub", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = nil }),
			want: []vt.Want{vt.Invalid("spec", "exactly one of (stubPKCS10Request) or (pkixPublicKey, proofOfPossession) must be set")}},
		{name: "stub not DER", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = []byte("junk") }),
			want: []vt.Want{vt.Invalid("spec.stubPKCS10Request", "must be a valid PKCS#10 CSR")}},
		{name: "stub too large", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.StubPKCS10Request = make([]byte, MaxStubPKCS10RequestSize+1)
		}),
			want: []vt.Want{vt.TooLong("spec.stubPKCS10Request", "")}},
		{name: "P-224 key", req: pcr(t, p224, nil),
			want: []vt.Want{vt.Invalid("spec.stubPKCS10Request", "elliptic public keys must use curve P256, P384, or P521")}},
		{name: "RSA 2048 key", req: pcr(t, rsa2048, nil),
			want: []vt.Want{vt.Invalid("spec.stubPKCS10Request", "RSA keys must have modulus size 3072 or 4096")}},
		{name: "bad signature", req: pcr(t, key, func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.StubPKCS10Request[len(r.Spec.StubPKCS10Request)-1] ^= 0xff
		}), want: []vt.Want{vt.Invalid("spec.stubPKCS10Request", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidatePodCertificateRequest(tt.req), tt.want...)
		})
	}
}

func TestValidatePodCertificateRequestUpdate(t *testing.T) {
	key := newKey(t)
	old := pcr(t, key, nil)
	relabelled := old.DeepCopy()
	relabelled.Labels = map[string]string{"a": "b"}
	vt.Expect(t, ValidatePodCertificateRequestUpdate(relabelled, old))
	moved := old.DeepCopy()
	moved.Spec.NodeName = "node-2"
	vt.Expect(t, ValidatePodCertificateRequestUpdate(moved, old), vt.Invalid("spec", "field is immutable"))
}

// issue signs a leaf for key with ca's key, valid from notBefore for life.
func issue(t *testing.T, pub crypto.PublicKey, notBefore time.Time, life time.Duration, dnsNames ...string) string {
	t.Helper()
	caKey := newKey(t)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: notBefore, NotAfter: notBefore.Add(48 * time.Hour)}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pod"}, DNSNames: dnsNames,
		NotBefore: notBefore, NotAfter: notBefore.Add(life)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestValidatePodCertificateRequestStatusUpdate(t *testing.T) {
	key := newKey(t)
	now := time.Now().Truncate(time.Second)
	cond := func(typ string, status metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: "Because", Message: "m", LastTransitionTime: metav1.NewTime(now)}
	}
	issued := func(chain string, notBefore, notAfter, refresh time.Time) certificatesv1.PodCertificateRequestStatus {
		return certificatesv1.PodCertificateRequestStatus{Conditions: []metav1.Condition{cond("Issued", metav1.ConditionTrue)}, CertificateChain: chain,
			NotBefore: ptr.To(metav1.NewTime(notBefore)), NotAfter: ptr.To(metav1.NewTime(notAfter)), BeginRefreshAt: ptr.To(metav1.NewTime(refresh))}
	}
	good := issue(t, key.Public(), now, 2*time.Hour)
	pending := pcr(t, key, nil)
	denied := pcr(t, key, func(r *certificatesv1.PodCertificateRequest) {
		r.Status.Conditions = []metav1.Condition{cond("Denied", metav1.ConditionTrue)}
	})
	tests := []struct {
		name   string
		old    *certificatesv1.PodCertificateRequest
		status certificatesv1.PodCertificateRequestStatus
		want   []vt.Want
	}{
		{name: "issue", old: pending, status: issued(good, now, now.Add(2*time.Hour), now.Add(time.Hour))},
		{name: "deny", old: pending, status: denied.Status},
		{name: "unknown condition", old: pending, status: certificatesv1.PodCertificateRequestStatus{Conditions: []metav1.Condition{cond("Ready", metav1.ConditionTrue)}},
			want: []vt.Want{vt.NotSupported("status.conditions.[0].type", `supported values: "Issued", "Denied", "Failed"`)}},
		{name: "two terminal conditions, one False", old: pending, status: certificatesv1.PodCertificateRequestStatus{Conditions: []metav1.Condition{cond("Denied", metav1.ConditionTrue), cond("Failed", metav1.ConditionFalse)}},
			want: []vt.Want{
				vt.Invalid("status.conditions.[1].type", `There may be at most one condition with type "Issued", "Denied", or "Failed"`),
				vt.NotSupported("status.conditions.[1].status", `supported values: "True"`),
			}},
		{name: "terminal is final", old: denied, status: certificatesv1.PodCertificateRequestStatus{Conditions: []metav1.Condition{cond("Failed", metav1.ConditionTrue)}},
			want: []vt.Want{vt.Invalid("status", "immutable after PodCertificateRequest is issued, denied, or failed")}},
		{name: "deny with a chain", old: pending, status: certificatesv1.PodCertificateRequestStatus{Conditions: denied.Status.Conditions, CertificateChain: good},
			want: []vt.Want{vt.Invalid("status", "non-condition status fields must be empty when denying or failing the PodCertificateRequest")}},
		{name: "chain without condition", old: pending, status: certificatesv1.PodCertificateRequestStatus{CertificateChain: good},
			want: []vt.Want{vt.Invalid("status", `status is immutable unless transitioning to "Issued", "Denied", or "Failed"`)}},
		{name: "empty chain", old: pending, status: issued("", now, now, now),
			want: []vt.Want{vt.Invalid("status.certificateChain", "issued certificate chain must contain at least one certificate")}},
		{name: "other key", old: pending, status: issued(issue(t, newKey(t).Public(), now, 2*time.Hour), now, now.Add(2*time.Hour), now.Add(time.Hour)),
			want: []vt.Want{vt.Invalid("status.certificateChain", "leaf certificate was not issued to the requested public key")}},
		{name: "times missing", old: pending, status: certificatesv1.PodCertificateRequestStatus{Conditions: []metav1.Condition{cond("Issued", metav1.ConditionTrue)}, CertificateChain: good},
			want: []vt.Want{
				vt.Required("status.notBefore", "must be present and consistent with the issued certificate"),
				vt.Required("status.notAfter", "must be present and consistent with the issued certificate"),
				vt.Required("status.beginRefreshAt", "must be present and in the range [notbefore+10min, notafter-10min]"),
			}},
		{name: "notBefore mismatch", old: pending, status: issued(good, now.Add(time.Second), now.Add(2*time.Hour), now.Add(time.Hour)),
			want: []vt.Want{vt.Invalid("status.notBefore", "must be set to the NotBefore time encoded in the leaf certificate")}},
		{name: "old certificate", old: pending, status: func() certificatesv1.PodCertificateRequestStatus {
			start := now.Add(-time.Hour)
			return issued(issue(t, key.Public(), start, 2*time.Hour), start, start.Add(2*time.Hour), start.Add(time.Hour))
		}(), want: []vt.Want{vt.Invalid("status.notBefore", "must be set to within 5 minutes of kube-apiserver's current time")}},
		{name: "too short", old: pending, status: issued(issue(t, key.Public(), now, 30*time.Minute), now, now.Add(30*time.Minute), now.Add(15*time.Minute)),
			want: []vt.Want{vt.Invalid("status.certificateChain", "leaf certificate lifetime must be >= 1 hour")}},
		{name: "longer than asked", old: pending, status: issued(issue(t, key.Public(), now, 25*time.Hour), now, now.Add(25*time.Hour), now.Add(time.Hour)),
			want: []vt.Want{vt.Invalid("status.certificateChain", "leaf certificate lifetime must be <= spec.maxExpirationSeconds (86400)")}},
		{name: "refresh too early", old: pending, status: issued(good, now, now.Add(2*time.Hour), now.Add(5*time.Minute)),
			want: []vt.Want{vt.Invalid("status.beginRefreshAt", "must be at least 10 minutes after status.notBefore")}},
		{name: "bad DNS name", old: pending, status: issued(issue(t, key.Public(), now, 2*time.Hour, "a..b"), now, now.Add(2*time.Hour), now.Add(time.Hour)),
			want: []vt.Want{vt.Invalid("status.certificateChain", "leaf certificate's DNSName should not contain '..'")}},
		{name: "junk after the leaf", old: pending, status: issued(good+"-----BEGIN KEY-----\nAA==\n-----END KEY-----\n", now, now.Add(2*time.Hour), now.Add(time.Hour)),
			want: []vt.Want{vt.Invalid("status.certificateChain", "issued certificate chain must consist entirely of CERTFICATE PEM blocks")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.old.DeepCopy()
			r.Status = tt.status
			vt.Expect(t, ValidatePodCertificateRequestStatusUpdate(r, tt.old, now), tt.want...)
		})
	}
}
