package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// equalKey is implemented by every public and private key type of the
// standard library.
type equalKey interface {
	Equal(crypto.PublicKey) bool
}

func pemBlock(t *testing.T, blockType string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
}

func mustPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustPKIX(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustECDER(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// selfSignedCert returns a CA certificate for key, as envtest's sa-signer.crt.
func selfSignedCert(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sa-signer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSigningKey(t *testing.T) {
	rsaKey := testRSAKey(t)
	ecKey := testECKey(t, elliptic.P256())
	dir := t.TempDir()

	tests := []struct {
		name    string
		data    []byte
		want    crypto.Signer
		wantErr string
	}{
		{name: "RSA PKCS#1", data: pemBlock(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), want: rsaKey},
		{name: "RSA PKCS#8", data: pemBlock(t, "PRIVATE KEY", mustPKCS8(t, rsaKey)), want: rsaKey},
		{name: "ECDSA SEC 1", data: pemBlock(t, "EC PRIVATE KEY", mustECDER(t, ecKey)), want: ecKey},
		{name: "ECDSA PKCS#8 (envtest sa-signer.key)", data: pemBlock(t, "PRIVATE KEY", mustPKCS8(t, ecKey)), want: ecKey},
		{
			name: "EC PARAMETERS block before the key",
			data: append(pemBlock(t, "EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}), pemBlock(t, "EC PRIVATE KEY", mustECDER(t, ecKey))...),
			want: ecKey,
		},
		{name: "public key only", data: pemBlock(t, "PUBLIC KEY", mustPKIX(t, &rsaKey.PublicKey)), wantErr: "data does not contain a valid RSA or ECDSA private key"},
		{name: "certificate only", data: pemBlock(t, "CERTIFICATE", selfSignedCert(t, ecKey)), wantErr: "data does not contain a valid RSA or ECDSA private key"},
		{name: "not PEM", data: []byte("hello"), wantErr: "data does not contain a valid RSA or ECDSA private key"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, "key"+string(rune('a'+i)), tt.data)
			got, err := LoadSigningKey(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error = %v, want one naming %s and containing %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Public().(equalKey).Equal(tt.want.Public()) {
				t.Fatalf("loaded %T is not the written key", got)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadSigningKey(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("error = %v, want a not-exist error", err)
		}
	})
}

func TestLoadVerifyKeys(t *testing.T) {
	rsaKey := testRSAKey(t)
	ecKey := testECKey(t, elliptic.P256())
	ec384 := testECKey(t, elliptic.P384())
	dir := t.TempDir()

	files := map[string][]byte{
		"rsa.pub":     pemBlock(t, "PUBLIC KEY", mustPKIX(t, &rsaKey.PublicKey)),
		"rsa1.pub":    pemBlock(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)),
		"ec.pub":      pemBlock(t, "PUBLIC KEY", mustPKIX(t, &ecKey.PublicKey)),
		"rsa.key":     pemBlock(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)),
		"rsa8.key":    pemBlock(t, "PRIVATE KEY", mustPKCS8(t, rsaKey)),
		"ec.key":      pemBlock(t, "EC PRIVATE KEY", mustECDER(t, ecKey)),
		"ec8.key":     pemBlock(t, "PRIVATE KEY", mustPKCS8(t, ecKey)),
		"sa.crt":      pemBlock(t, "CERTIFICATE", selfSignedCert(t, ecKey)),
		"rsa.crt":     pemBlock(t, "CERTIFICATE", selfSignedCert(t, rsaKey)),
		"bundle.pem":  append(append(pemBlock(t, "CERTIFICATE", selfSignedCert(t, ecKey)), pemBlock(t, "PUBLIC KEY", mustPKIX(t, &ec384.PublicKey))...), pemBlock(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))...),
		"garbage.pem": []byte("not a key"),
	}
	paths := map[string]string{}
	for name, data := range files {
		paths[name] = writeFile(t, dir, name, data)
	}

	tests := []struct {
		name    string
		files   []string
		want    []crypto.PublicKey
		wantErr string
	}{
		{name: "PKIX RSA public key", files: []string{"rsa.pub"}, want: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "PKCS#1 RSA public key is not accepted", files: []string{"rsa1.pub"}, wantErr: "data does not contain any valid RSA or ECDSA public keys"},
		{name: "ECDSA public key", files: []string{"ec.pub"}, want: []crypto.PublicKey{&ecKey.PublicKey}},
		{name: "RSA PKCS#1 private key", files: []string{"rsa.key"}, want: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "RSA PKCS#8 private key", files: []string{"rsa8.key"}, want: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "ECDSA SEC 1 private key", files: []string{"ec.key"}, want: []crypto.PublicKey{&ecKey.PublicKey}},
		{name: "ECDSA PKCS#8 private key is not accepted, as upstream", files: []string{"ec8.key"}, wantErr: "data does not contain any valid RSA or ECDSA public keys"},
		{name: "ECDSA certificate (envtest sa-signer.crt)", files: []string{"sa.crt"}, want: []crypto.PublicKey{&ecKey.PublicKey}},
		{name: "RSA certificate", files: []string{"rsa.crt"}, want: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "several blocks in one file", files: []string{"bundle.pem"}, want: []crypto.PublicKey{&ecKey.PublicKey, &ec384.PublicKey, &rsaKey.PublicKey}},
		{name: "several files", files: []string{"ec.pub", "rsa.pub"}, want: []crypto.PublicKey{&ecKey.PublicKey, &rsaKey.PublicKey}},
		{name: "no keys", files: []string{"garbage.pem"}, wantErr: "data does not contain any valid RSA or ECDSA public keys"},
		{name: "missing file", files: []string{filepath.Join(dir, "absent")}, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []string
			for _, f := range tt.files {
				if p, ok := paths[f]; ok {
					f = p
				}
				in = append(in, f)
			}
			got, err := LoadVerifyKeys(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].(equalKey).Equal(tt.want[i]) {
					t.Errorf("key %d: got %T, not the expected key", i, got[i])
				}
			}
		})
	}
}

func TestNewGenerator(t *testing.T) {
	rsaKey := testRSAKey(t)
	tests := []struct {
		name    string
		key     crypto.Signer
		wantAlg string
		wantErr string
	}{
		{name: "RSA", key: rsaKey, wantAlg: "RS256"},
		{name: "P-256", key: testECKey(t, elliptic.P256()), wantAlg: "ES256"},
		{name: "P-384", key: testECKey(t, elliptic.P384()), wantAlg: "ES384"},
		{name: "P-521", key: testECKey(t, elliptic.P521()), wantAlg: "ES512"},
		{name: "P-224", key: testECKey(t, elliptic.P224()), wantErr: "unknown private key curve, must be 256, 384, or 521"},
		{name: "ed25519", key: testEd25519Key(t), wantErr: "unknown private key type ed25519.PrivateKey, must be *rsa.PrivateKey or *ecdsa.PrivateKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGenerator("https://issuer", tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			token, err := g.GenerateToken(&TokenClaims{})
			if err != nil {
				t.Fatal(err)
			}
			header := decodeSegment(t, token, 0)
			sum := sha256.Sum256(mustPKIX(t, tt.key.Public()))
			wantKid := base64.RawURLEncoding.EncodeToString(sum[:])
			if len(header) != 2 || header["alg"] != tt.wantAlg || header["kid"] != wantKid {
				t.Fatalf("header = %v, want exactly alg %s and kid %s", header, tt.wantAlg, wantKid)
			}
			if iss := decodeSegment(t, token, 1)["iss"]; iss != "https://issuer" {
				t.Fatalf("iss = %v", iss)
			}
		})
	}
}
