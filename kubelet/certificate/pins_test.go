package certificate

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	certutil "k8s.io/client-go/util/cert"
)

func selfSignedCA(t *testing.T, name string) ([]byte, *x509.Certificate) {
	t.Helper()
	certPEM, _, err := certutil.GenerateSelfSignedCertKey(name, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	// GenerateSelfSignedCertKey returns the leaf and its CA: the CA is last.
	return certPEM, certs[len(certs)-1]
}

func TestCheckCAPins(t *testing.T) {
	bundle, ca := selfSignedCA(t, "a")
	_, other := selfSignedCA(t, "b")
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	right := "sha256:" + hex.EncodeToString(sum[:])
	if got := CACertHash(ca); got != right {
		t.Fatalf("CACertHash = %s, want %s", got, right)
	}
	wrong := CACertHash(other)
	tests := []struct {
		name    string
		pins    []string
		wantErr string
	}{
		{"the CA's pin", []string{right}, ""},
		{"upper-case hex", []string{"sha256:" + strings.ToUpper(right[7:])}, ""},
		{"one of several pins", []string{wrong, right}, ""},
		{"another CA's pin", []string{wrong}, "matches no --discovery-token-ca-cert-hash"},
		{"no format", []string{right[7:]}, "want the form sha256:<hex>"},
		{"too short", []string{"sha256:abcd"}, "64 hex digits"},
		{"none", nil, "no CA cert hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCAPins(bundle, tt.pins)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckCAPins: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckCAPins = %v, want an error with %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is more than one line: %q", err)
			}
		})
	}
	if err := CheckCAPins(bundle, []string{wrong}); !strings.Contains(err.Error(), right) {
		t.Errorf("the mismatch error does not name the CA's hash %s: %v", right, err)
	}
}

func TestRetriableDiscoveryError(t *testing.T) {
	gr := schema.GroupResource{Resource: "configmaps"}
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("discovery: %w", ErrNotSigned), true},
		{errors.New("dial tcp: connection refused"), true},
		{fmt.Errorf("get: %w", apierrors.NewNotFound(gr, "cluster-info")), true},
		{fmt.Errorf("get: %w", apierrors.NewForbidden(gr, "cluster-info", errors.New("no"))), true},
		{fmt.Errorf("get: %w", apierrors.NewServiceUnavailable("starting")), true},
		{final("the JWS signature does not match"), false},
		{fmt.Errorf("get: %w", apierrors.NewBadRequest("no")), false},
	}
	for _, tt := range tests {
		if got := RetriableDiscoveryError(tt.err); got != tt.want {
			t.Errorf("RetriableDiscoveryError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
