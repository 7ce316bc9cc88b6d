package certificate

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	clusterName = "default-cluster"
	userName    = "default-auth"
	contextName = "default-context"
)

// WriteBootstrapKubeconfig writes to path a kubeconfig that reaches server,
// trusting caPEM, with the bootstrap token as its bearer token: the
// --bootstrap-kubeconfig a joining node starts with.
func WriteBootstrapKubeconfig(path, server string, caPEM []byte, token string) error {
	cfg := kubeconfig(server, caPEM)
	cfg.AuthInfos[userName] = &clientcmdapi.AuthInfo{Token: token}
	return writeKubeconfig(path, cfg)
}

// writeNodeKubeconfig writes the node's kubeconfig: server and CA, and the
// client certificate and key both read from certPath.
func writeNodeKubeconfig(path, server string, caPEM []byte, certPath string) error {
	cfg := kubeconfig(server, caPEM)
	cfg.AuthInfos[userName] = &clientcmdapi.AuthInfo{ClientCertificate: certPath, ClientKey: certPath}
	return writeKubeconfig(path, cfg)
}

func kubeconfig(server string, caPEM []byte) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: userName}
	cfg.CurrentContext = contextName
	return cfg
}

func writeKubeconfig(path string, cfg *clientcmdapi.Config) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the directory of %s: %w", path, err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig %s: %w", path, err)
	}
	// Write then rename, so that a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// loadKubeconfig reads a kubeconfig into a client config.
func loadKubeconfig(path string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// serverAndCA returns the server URL and CA bundle of a client config.
func serverAndCA(cfg *rest.Config) (string, []byte, error) {
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return "", nil, fmt.Errorf("read CA file: %w", err)
		}
	}
	return cfg.Host, ca, nil
}
