package integration

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/endpoint"
	"github.com/skiff-dev/skiff/controllers/endpointslice"
	"github.com/skiff-dev/skiff/controllers/endpointslicemirroring"
	"github.com/skiff-dev/skiff/controllers/rootcacertpublisher"
	"github.com/skiff-dev/skiff/controllers/serviceaccount"
	"github.com/skiff-dev/skiff/controllers/tokencleaner"
)

// This package's API-server tests run every controller of brief E: the
// endpoints, EndpointSlice and mirroring controllers, the ServiceAccount
// and token controllers, the root CA publisher and the token cleaner.
var env *controllertest.Env

// kc is an admin clientset without client-side rate limiting.
var kc kubernetes.Interface

// rootCA is what the publisher and the token controller publish.
const rootCA = "-----BEGIN CERTIFICATE-----\nc2tpZmYgdGVzdCBDQQ==\n-----END CERTIFICATE-----\n"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "endpointslice-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	keyFile := filepath.Join(dir, "sa.key")
	caFile := filepath.Join(dir, "ca.crt")
	if err := writeKey(keyFile); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(caFile, []byte(rootCA), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e, err := controllertest.Start(controllertest.Options{
		Controllers: []controllers.Descriptor{
			endpoint.Descriptor,
			endpointslice.Descriptor,
			endpointslicemirroring.Descriptor,
			serviceaccount.Descriptor,
			serviceaccount.TokenDescriptor,
			rootcacertpublisher.Descriptor,
			tokencleaner.Descriptor,
		},
		ControllerOptions: controllers.Options{
			RootCAFile:                   caFile,
			ServiceAccountPrivateKeyFile: keyFile,
		},
		Server: testserver.Options{Customize: func(o *server.Options) {
			o.ServiceClusterIPRange = "10.0.0.0/24,fd00:10::/108"
			o.Authentication.ServiceAccountKeyFiles = []string{keyFile}
		}},
	})
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "controllertest: %v\n", err)
		os.Exit(1)
	}
	env = e
	// The tests poll often; give them a client without rate limits.
	cfg := rest.CopyConfig(e.Config)
	cfg.QPS, cfg.Burst = -1, 0
	kc = kubernetes.NewForConfigOrDie(cfg)
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "controllertest: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func writeKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}
