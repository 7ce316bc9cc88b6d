package kubeletproxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	corev1 "k8s.io/api/core/v1"
)

// Client makes plain requests of the API server's own to kubelets (the
// resource metrics scraper's GET /metrics/resource), over the same
// connection settings as the proxied subresources: the client certificate,
// the kubelet CA, the preferred address types, the port a node reports and
// the connect timeout of Config.
type Client struct {
	k *kubelet
}

// NewClient returns a Client for c.
func NewClient(c Config) *Client {
	return &Client{k: newKubelet(nil, c)}
}

// Get sends GET path to the kubelet of node, found from its status as
// pods/log finds it. The caller closes the response body.
func (c *Client) Get(ctx context.Context, node *corev1.Node, path string) (*http.Response, error) {
	host, err := preferredAddress(node, c.k.addressTypes)
	if err != nil {
		return nil, fmt.Errorf("find kubelet of node %s: %w", node.Name, err)
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port <= 0 {
		port = c.k.defaultPort
	}
	u := url.URL{Scheme: "https", Host: net.JoinHostPort(host, fmt.Sprint(port)), Path: path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request to kubelet of node %s: %w", node.Name, err)
	}
	resp, err := c.k.transport.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s of node %s: %w", u.String(), node.Name, err)
	}
	return resp, nil
}
