package certificates

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// certPEM returns a self-signed certificate; ca sets basic constraints
// with the CA bit.
func certPEM(t *testing.T, ca bool, headers map[string]string) string {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "root"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: ca, IsCA: ca, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: headers, Bytes: der}))
}

func bundle(name, signer, pemData string) *certificatesv1.ClusterTrustBundle {
	return &certificatesv1.ClusterTrustBundle{
		ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
		Spec:       certificatesv1.ClusterTrustBundleSpec{SignerName: signer, TrustBundle: pemData},
	}
}

func TestValidateClusterTrustBundle(t *testing.T) {
	ca1, ca2 := certPEM(t, true, nil), certPEM(t, true, nil)
	leaf := certPEM(t, false, nil)
	withHeaders := certPEM(t, true, map[string]string{"Proc-Type": "4,ENCRYPTED"})
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("k")}))
	garbage := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not der")}))
	tests := []struct {
		name string
		b    *certificatesv1.ClusterTrustBundle
		want []vt.Want
	}{
		{name: "no signer", b: bundle("my-roots", "", ca1)},
		{name: "signer with prefixed name", b: bundle("example.com:foo:v1", "example.com/foo", ca1+ca2)},
		{name: "text between blocks is ignored", b: bundle("roots", "", "# comment\n"+ca1+"trailing\n")},
		{name: "colon without signer", b: bundle("example.com:foo:v1", "", ca1),
			want: []vt.Want{vt.Invalid("metadata.name", `ClusterTrustBundle without signer name must not have ":" in its name`)}},
		{name: "signer without prefix", b: bundle("v1", "example.com/foo", ca1),
			want: []vt.Want{vt.Invalid("metadata.name", "ClusterTrustBundle for signerName example.com/foo must be named with prefix example.com:foo:")}},
		{name: "prefix with bad rest", b: bundle("example.com:foo:Bad_Name", "example.com/foo", ca1),
			want: []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
		{name: "bad signer", b: bundle("example:roots", "example", ca1),
			want: []vt.Want{vt.Invalid("spec.signerName", "must be a fully qualified domain and path of the form 'example.com/signer-name'")}},
		{name: "empty bundle", b: bundle("roots", "", ""),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "at least one trust anchor must be provided")}},
		{name: "no PEM at all", b: bundle("roots", "", "hello"),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "at least one trust anchor must be provided")}},
		{name: "wrong block type", b: bundle("roots", "", ca1+key),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "entry 1 has bad block type: PRIVATE KEY")}},
		{name: "headers", b: bundle("roots", "", withHeaders),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "entry 0 has PEM block headers")}},
		{name: "not X.509", b: bundle("roots", "", garbage),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "entry 0 does not parse as X.509")}},
		{name: "not a CA", b: bundle("roots", "", ca1+leaf),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "entry 1 does not have the CA bit set")}},
		{name: "duplicates", b: bundle("roots", "", ca1+ca2+ca1),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "duplicate trust anchor (indices [0 2])")}},
		{name: "too large", b: bundle("roots", "", strings.Repeat("x", MaxTrustBundleSize+1)),
			want: []vt.Want{vt.TooLong("spec.trustBundle", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateClusterTrustBundle(tt.b), tt.want...)
		})
	}
}

func TestValidateClusterTrustBundleUpdate(t *testing.T) {
	ca1, ca2 := certPEM(t, true, nil), certPEM(t, true, nil)
	// Stored before a parsing change: an update that leaves the bundle
	// alone must not be rejected for it.
	stale := bundle("roots", "", ca1+ca1)
	tests := []struct {
		name     string
		old, new *certificatesv1.ClusterTrustBundle
		want     []vt.Want
	}{
		{name: "new anchors", old: bundle("example.com:foo:v1", "example.com/foo", ca1), new: bundle("example.com:foo:v1", "example.com/foo", ca1+ca2)},
		{name: "unchanged bundle not reparsed", old: stale, new: func() *certificatesv1.ClusterTrustBundle {
			b := stale.DeepCopy()
			b.Labels = map[string]string{"a": "b"}
			return b
		}()},
		{name: "changed bundle reparsed", old: stale, new: bundle("roots", "", ca2+ca2),
			want: []vt.Want{vt.Invalid("spec.trustBundle", "duplicate trust anchor (indices [0 1])")}},
		{name: "signer immutable", old: bundle("example.com:foo:v1", "example.com/foo", ca1), new: bundle("example.com:foo:v1", "example.com/foo2", ca1),
			want: []vt.Want{
				vt.Invalid("spec.signerName", "field is immutable"),
				vt.Invalid("metadata.name", "must be named with prefix example.com:foo2:"),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateClusterTrustBundleUpdate(tt.new, tt.old), tt.want...)
		})
	}
}
