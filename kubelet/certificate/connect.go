package certificate

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// Connect returns the node's client config, as the kubelet starts with
// --bootstrap-kubeconfig, --kubeconfig, --cert-dir and
// --rotate-certificates: Bootstrap first when c.BootstrapKubeconfig is set
// (a no-op while KubeconfigPath holds a valid certificate); then, with
// rotate, a client manager that renews the certificate before it expires
// (it stops when ctx ends) and a config whose connections follow it
// (ClientConfig); without rotate, the kubeconfig as written.
func Connect(ctx context.Context, c Config, rotate bool) (*rest.Config, error) {
	if c.BootstrapKubeconfig != "" {
		if err := Bootstrap(ctx, c); err != nil {
			return nil, err
		}
	}
	if !rotate {
		return loadKubeconfig(c.KubeconfigPath)
	}
	m, err := NewClientManager(ctx, c)
	if err != nil {
		return nil, err
	}
	if m.Current() == nil {
		return nil, fmt.Errorf("kubelet client certificate: neither %s nor %s has a certificate to rotate (give --bootstrap-kubeconfig)", c.KubeconfigPath, c.CertDir)
	}
	m.Start()
	go func() {
		<-ctx.Done()
		m.Stop()
	}()
	klog.FromContext(ctx).V(1).Info("Rotating the node's client certificate", "node", c.NodeName, "notAfter", m.Current().Leaf.NotAfter)
	return ClientConfig(ctx, c.KubeconfigPath, m)
}
