package certificate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/bootstrapsigner"
	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/tokencleaner"
)

var (
	env *controllertest.Env
	// caFile is the cluster CA: it signs the server's certificate and, as
	// the cluster signing CA, the nodes' certificates.
	caFile string
)

// signingDuration is the cluster's longest certificate, short so that
// rotation (at 70-90% of NotBefore..NotAfter, NotBefore being backdated 5
// minutes) comes 15-105 s after issue, before expiry.
const signingDuration = 150 * time.Second

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kubelet-certificate-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pki := filepath.Join(dir, "pki")
	caFile = filepath.Join(pki, "ca.crt")
	code := 1
	defer func() {
		os.RemoveAll(dir)
		os.Exit(code)
	}()
	e, err := controllertest.Start(controllertest.Options{
		Controllers: []controllers.Descriptor{
			certificates.ApprovingDescriptor,
			certificates.SigningDescriptor,
			certificates.CleanerDescriptor,
			bootstrapsigner.Descriptor,
			tokencleaner.Descriptor,
		},
		ControllerOptions: controllers.Options{
			ClusterSigningCertFile: caFile,
			ClusterSigningKeyFile:  filepath.Join(pki, "ca.key"),
			ClusterSigningDuration: signingDuration,
		},
		Server: testserver.Options{
			DataDir: filepath.Join(dir, "server"),
			Customize: func(o *server.Options) {
				o.SecureServing.ServerCert.CertDirectory = pki
				o.Authentication.EnableBootstrapTokenAuth = true
				// As kubeadm's clusters: the Node authorizer lets nodes
				// create the CSRs that renew their certificates.
				o.Authorization.Modes = []string{server.ModeNode, server.ModeRBAC}
			},
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start: %v\n", err)
		return
	}
	env = e
	code = m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
}
