package certs

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
)

func TestEnsureIsStableAndVerifiable(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ca, err := EnsureCA(p("ca.crt"), p("ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureCA(p("ca.crt"), p("ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Fatal("EnsureCA replaced an existing CA")
	}

	ips := []net.IP{net.ParseIP("127.0.0.1")}
	if err := ca.EnsureServing(p("s.crt"), p("s.key"), "server", []string{"localhost"}, ips); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(p("s.crt"))
	if err := ca.EnsureServing(p("s.crt"), p("s.key"), "server", []string{"localhost"}, ips); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(p("s.crt"))
	if string(first) != string(second) {
		t.Fatal("EnsureServing reissued a certificate that covered every name")
	}
	if err := ca.EnsureServing(p("s.crt"), p("s.key"), "server", []string{"localhost", "other"}, ips); err != nil {
		t.Fatal(err)
	}
	third, _ := os.ReadFile(p("s.crt"))
	if string(third) == string(second) {
		t.Fatal("EnsureServing kept a certificate missing a requested name")
	}

	if err := ca.EnsureClient(p("c.crt"), p("c.key"), "alice", []string{"system:masters"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		file  string
		usage x509.ExtKeyUsage
		check func(*x509.Certificate) bool
	}{
		{name: "serving", file: "s.crt", usage: x509.ExtKeyUsageServerAuth, check: func(c *x509.Certificate) bool { return c.VerifyHostname("other") == nil }},
		{name: "client", file: "c.crt", usage: x509.ExtKeyUsageClientAuth, check: func(c *x509.Certificate) bool {
			return c.Subject.CommonName == "alice" && len(c.Subject.Organization) == 1 && c.Subject.Organization[0] == "system:masters"
		}},
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := certutil.CertsFromFile(p(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{tt.usage}}); err != nil {
				t.Fatalf("does not verify against the CA: %v", err)
			}
			if !tt.check(certs[0]) {
				t.Fatalf("unexpected subject or names: %v %v", certs[0].Subject, certs[0].DNSNames)
			}
		})
	}

	if err := WriteKubeconfig(p("kubeconfig"), "skiff", "https://127.0.0.1:6443", p("ca.crt"), p("c.crt"), p("c.key")); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", p("kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:6443" || len(cfg.TLSClientConfig.CAData) == 0 || len(cfg.TLSClientConfig.CertData) == 0 {
		t.Fatalf("kubeconfig lacks server or credentials: %+v", cfg)
	}
	if fi, _ := os.Stat(p("c.key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestEnsureKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sa.key")
	if err := EnsureKey(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := EnsureKey(path); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("EnsureKey replaced an existing key")
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := EnsureKey(path); err == nil {
		t.Fatal("EnsureKey accepted a corrupt key file")
	}
}
