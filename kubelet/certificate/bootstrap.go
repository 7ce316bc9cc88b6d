package certificate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/klog/v2"
)

const (
	// ClientPairName and ServingPairName name the certificate files in
	// CertDir: <name>-current.pem.
	ClientPairName  = "kubelet-client"
	ServingPairName = "kubelet-server"

	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
)

// Config says where a node's credentials come from and go.
type Config struct {
	// BootstrapKubeconfig has the bootstrap token credentials
	// (WriteBootstrapKubeconfig); used only while KubeconfigPath has no
	// valid certificate.
	BootstrapKubeconfig string
	// KubeconfigPath is the node's own kubeconfig, written by Bootstrap.
	KubeconfigPath string
	// CertDir holds the client and serving certificates.
	CertDir string
	// NodeName is the node's name: the certificates are for
	// system:node:<NodeName>.
	NodeName string
	// CertificateLifetime, when set, is asked of the signer
	// (spec.expirationSeconds, at least 10 minutes); the signer may issue
	// shorter certificates (--cluster-signing-duration).
	CertificateLifetime time.Duration
}

func (c Config) validate() error {
	switch {
	case c.KubeconfigPath == "":
		return errors.New("the node's kubeconfig path is required")
	case c.CertDir == "":
		return errors.New("the certificate directory is required")
	case c.NodeName == "":
		return errors.New("the node name is required")
	}
	return nil
}

func (c Config) lifetime() *time.Duration {
	if c.CertificateLifetime <= 0 {
		return nil
	}
	d := c.CertificateLifetime
	return &d
}

func clientTemplate(node string) *x509.CertificateRequest {
	return &x509.CertificateRequest{Subject: pkix.Name{CommonName: nodeUserPrefix + node, Organization: []string{nodesGroup}}}
}

// Bootstrap makes sure KubeconfigPath holds a kubeconfig with a valid client
// certificate of the node: it returns at once if it does, or if CertDir has
// one (then it only writes the kubeconfig); otherwise it requests one with
// the bootstrap credentials (kube-apiserver-client-kubelet signer), waits
// until it is approved and issued or ctx ends, stores it in CertDir and
// writes the kubeconfig. Errors that may pass (the token not yet known to
// the server, the server restarting) are retried until ctx ends.
func Bootstrap(ctx context.Context, c Config) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: %w", err)
	}
	log := klog.FromContext(ctx).WithValues("node", c.NodeName)
	if ok, err := validKubeconfig(c.KubeconfigPath, time.Now()); err != nil {
		log.V(1).Info("Existing node kubeconfig is unusable, bootstrapping", "kubeconfig", c.KubeconfigPath, "reason", err)
	} else if ok {
		log.V(1).Info("Node kubeconfig has a valid client certificate, no bootstrap needed", "kubeconfig", c.KubeconfigPath)
		return nil
	}
	if c.BootstrapKubeconfig == "" {
		return fmt.Errorf("kubelet TLS bootstrap: %s has no valid client certificate and no bootstrap kubeconfig is given", c.KubeconfigPath)
	}
	bootstrapCfg, err := loadKubeconfig(c.BootstrapKubeconfig)
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: %w", err)
	}
	server, caPEM, err := serverAndCA(bootstrapCfg)
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: bootstrap kubeconfig %s: %w", c.BootstrapKubeconfig, err)
	}
	if err := os.MkdirAll(c.CertDir, 0o700); err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: create %s: %w", c.CertDir, err)
	}
	store, err := certificate.NewFileStoreWithLogger(log.V(1), ClientPairName, c.CertDir, c.CertDir, "", "")
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: certificate store in %s: %w", c.CertDir, err)
	}
	certPath := store.CurrentPath()
	if cert, err := store.Current(); err == nil && cert.Leaf != nil && time.Now().Before(cert.Leaf.NotAfter) {
		log.V(1).Info("Certificate directory has a valid client certificate, writing the kubeconfig", "cert", certPath)
		return writeNodeKubeconfig(c.KubeconfigPath, server, caPEM, certPath)
	}

	client, err := kubernetes.NewForConfig(bootstrapCfg)
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: client: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: generate key: %w", err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: encode key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, clientTemplate(c.NodeName), key)
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: create certificate request: %w", err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	usages := certificate.DefaultKubeletClientGetUsages(key)

	var name string
	var uid types.UID
	err = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		n, u, err := csr.RequestCertificateWithContext(ctx, client, csrPEM, "", certificatesv1.KubeAPIServerClientKubeletSignerName, c.lifetime(), usages, key)
		if err != nil {
			if retriable(err) {
				log.V(1).Info("Requesting the node's client certificate failed, retrying", "err", err)
				return false, nil
			}
			return false, err
		}
		name, uid = n, u
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: request a client certificate: %w", err)
	}
	log.Info("Requested the node's client certificate, waiting for approval", "csr", name)
	certPEM, err := csr.WaitForCertificate(ctx, client, name, uid)
	if err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: CertificateSigningRequest %s was not issued (is csrapproving allowed to approve it, and csrsigning running?): %w", name, err)
	}
	if _, err := store.Update(certPEM, keyPEM); err != nil {
		return fmt.Errorf("kubelet TLS bootstrap: store the client certificate: %w", err)
	}
	log.Info("Got the node's client certificate", "csr", name, "cert", certPath)
	return writeNodeKubeconfig(c.KubeconfigPath, server, caPEM, certPath)
}

// retriable errors of a CSR request may pass on their own: the bootstrap
// token's Secret not yet seen by the server, its RBAC not yet reconciled, or
// no connection.
func retriable(err error) bool {
	return apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) ||
		!isAPIStatus(err)
}

func isAPIStatus(err error) bool {
	var s apierrors.APIStatus
	return errors.As(err, &s)
}

// validKubeconfig reports whether path is a kubeconfig whose client
// certificate loads and is valid at now.
func validKubeconfig(path string, now time.Time) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, err
	}
	cfg, err := loadKubeconfig(path)
	if err != nil {
		return false, err
	}
	certPEM, keyPEM, err := certAndKey(cfg)
	if err != nil {
		return false, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("client certificate and key: %w", err)
	}
	for _, raw := range pair.Certificate {
		cert, err := x509.ParseCertificate(raw)
		if err != nil {
			return false, err
		}
		if now.Before(cert.NotBefore) || !now.Before(cert.NotAfter) {
			return false, fmt.Errorf("certificate %s is valid from %s to %s, not now", cert.Subject.CommonName, cert.NotBefore, cert.NotAfter)
		}
	}
	return true, nil
}

func certAndKey(cfg *rest.Config) ([]byte, []byte, error) {
	certPEM, keyPEM := cfg.CertData, cfg.KeyData
	var err error
	if len(certPEM) == 0 && cfg.CertFile != "" {
		if certPEM, err = os.ReadFile(cfg.CertFile); err != nil {
			return nil, nil, err
		}
	}
	if len(keyPEM) == 0 && cfg.KeyFile != "" {
		if keyPEM, err = os.ReadFile(cfg.KeyFile); err != nil {
			return nil, nil, err
		}
	}
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, nil, errors.New("the kubeconfig has no client certificate")
	}
	return certPEM, keyPEM, nil
}

// HasValidKubeconfig reports whether path is a kubeconfig whose client
// certificate is valid now: a node that joined before needs no bootstrap
// token again.
func HasValidKubeconfig(path string) bool {
	ok, _ := validKubeconfig(path, time.Now())
	return ok
}
