package certificatesubjectrestriction

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
)

func request(t *testing.T, orgs ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice", Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func csr(signer string, req []byte) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "req"},
		Spec:       certificatesv1.CertificateSigningRequestSpec{SignerName: signer, Request: req},
	}
}

func TestValidate(t *testing.T) {
	const client = certificatesv1.KubeAPIServerClientSignerName
	masters := request(t, "dev", "system:masters")
	notAllowed := "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
	tests := []struct {
		name        string
		resource    string
		subresource string
		obj         runtime.Object
		wantErr     string
	}{
		{name: "client signer, system:masters", obj: csr(client, masters), wantErr: notAllowed},
		{name: "client signer, other groups", obj: csr(client, request(t, "dev", "system:authenticated"))},
		{name: "client signer, no groups", obj: csr(client, request(t))},
		{name: "client signer, group differing in case", obj: csr(client, request(t, "System:Masters"))},
		{name: "kubelet client signer, system:masters", obj: csr(certificatesv1.KubeAPIServerClientKubeletSignerName, masters)},
		{name: "custom signer, system:masters", obj: csr("example.com/foo", masters)},
		{name: "client signer, unparsable request", obj: csr(client, []byte("junk")), wantErr: "failed to parse CSR: PEM block type must be CERTIFICATE REQUEST"},
		{name: "client signer, wrong PEM type", obj: csr(client, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), wantErr: "failed to parse CSR: PEM block type must be CERTIFICATE REQUEST"},
		{name: "client signer, bad DER", obj: csr(client, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}})), wantErr: "failed to parse CSR: "},
		{name: "subresource not checked", subresource: "status", obj: csr(client, masters)},
		{name: "other resource not checked", resource: "configmaps", obj: &corev1.ConfigMap{}},
		{name: "wrong type", obj: &corev1.ConfigMap{}, wantErr: "expected type CertificateSigningRequest, got: *v1.ConfigMap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gvr := certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests")
			if tt.resource != "" {
				gvr = corev1.SchemeGroupVersion.WithResource(tt.resource)
			}
			a := admission.NewAttributesRecord(tt.obj, nil, certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"), "", "req",
				gvr, tt.subresource, admission.Create, &metav1.CreateOptions{}, false, nil)
			err := New().Validate(context.Background(), a, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want allowed", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate: %v, want Forbidden containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestHandlesCreatesOnly(t *testing.T) {
	p := New()
	for op, want := range map[admission.Operation]bool{admission.Create: true, admission.Update: false, admission.Delete: false} {
		if got := p.Handles(op); got != want {
			t.Errorf("Handles(%s) = %v, want %v", op, got, want)
		}
	}
}
