package cluster

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/skiff-dev/skiff/cluster/bootstrap"
)

// managedBy marks the objects Up maintains itself.
const managedBy = "skiff-up"

// ensureClusterObjects makes what a cluster needs beyond the API server's
// own bootstrap: the kube-dns Service (its endpoints are the
// control-plane nodes' DNS servers, which publish them), and the binding that lets nodes'
// proxies read Services and EndpointSlices.
func (c *Cluster) ensureClusterObjects(ctx context.Context, client kubernetes.Interface) error {
	if err := c.ensureDNSService(ctx, client); err != nil {
		return fmt.Errorf("kube-dns Service: %w", err)
	}
	// Nodes join with bootstrap tokens; their proxies and route watchers
	// read Services, EndpointSlices and Nodes with the node's credentials.
	if err := bootstrap.EnsureJoinRBAC(ctx, client); err != nil {
		return fmt.Errorf("node join RBAC: %w", err)
	}
	return nil
}

func (c *Cluster) ensureDNSService(ctx context.Context, client kubernetes.Interface) error {
	ip, err := c.dnsIP()
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: metav1.NamespaceSystem, Labels: map[string]string{
			"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "app.kubernetes.io/managed-by": managedBy,
		}},
		Spec: corev1.ServiceSpec{
			ClusterIP: ip.String(),
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
				{Name: "metrics", Port: dnsMetricsPort, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(dnsMetricsPort)},
			},
		},
	}
	// Get first: a create of an existing Service fails on its cluster IP
	// (already allocated) before its name.
	if _, err := client.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		if _, err := client.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	} else if err != nil {
		return err
	}
	// The DNS servers run on the control-plane nodes, not in pods, so the
	// Service has no selector: each server publishes its own EndpointSlice
	// (skiff dns --node-name). Clusters made before that had one slice
	// written here; it goes.
	err = client.DiscoveryV1().EndpointSlices(svc.Namespace).Delete(ctx, "kube-dns-skiff", metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove the old kube-dns EndpointSlice: %w", err)
	}
	return nil
}

// waitDNS waits until every control-plane node's DNS server answers the
// kubernetes Service's name with its cluster IP and has published its
// endpoint of kube-dns as ready, so that pods resolve through the Service.
func (c *Cluster) waitDNS(ctx context.Context, client kubernetes.Interface) error {
	name := "kubernetes.default.svc." + c.cfg.Networking.ClusterDomain + "."
	for _, n := range c.controlPlanes() {
		slice := "kube-dns-" + n.name()
		var last error
		err := c.poll(ctx, func(ctx context.Context) (bool, error) {
			s, err := client.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem).Get(ctx, slice, metav1.GetOptions{})
			switch {
			case err != nil:
				last = err
			case len(s.Endpoints) == 0 || s.Endpoints[0].Conditions.Ready == nil || !*s.Endpoints[0].Conditions.Ready:
				last = fmt.Errorf("EndpointSlice %s not ready", slice)
			default:
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("cluster DNS on %s did not publish its kube-dns endpoint (%v): see %s", n.name(), last, n.path("logs", componentDNS+".log"))
		}
	}
	for _, n := range c.controlPlanes() {
		server := net.JoinHostPort(n.ips[0].String(), "53")
		var last error
		err := c.poll(ctx, func(ctx context.Context) (bool, error) {
			m := new(dns.Msg)
			m.SetQuestion(name, dns.TypeA)
			cl := &dns.Client{Timeout: time.Second}
			r, _, err := cl.ExchangeContext(ctx, m, server)
			switch {
			case err != nil:
				last = err
			case r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0:
				last = fmt.Errorf("answer %s with %d records", dns.RcodeToString[r.Rcode], len(r.Answer))
			default:
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("cluster DNS at %s does not answer %s (%v): see %s", server, name, last, n.path("logs", componentDNS+".log"))
		}
	}
	return nil
}

func clientcmdapiNewConfig() *clientcmdapi.Config { return clientcmdapi.NewConfig() }

// embed replaces the file references of the named cluster and user with
// their contents.
func embed(cfg *clientcmdapi.Config, name string) error {
	if cl := cfg.Clusters[name]; cl != nil && cl.CertificateAuthority != "" {
		data, err := readAll(cl.CertificateAuthority)
		if err != nil {
			return err
		}
		cl.CertificateAuthorityData, cl.CertificateAuthority = data, ""
	}
	if u := cfg.AuthInfos[name]; u != nil {
		if u.ClientCertificate != "" {
			data, err := readAll(u.ClientCertificate)
			if err != nil {
				return err
			}
			u.ClientCertificateData, u.ClientCertificate = data, ""
		}
		if u.ClientKey != "" {
			data, err := readAll(u.ClientKey)
			if err != nil {
				return err
			}
			u.ClientKeyData, u.ClientKey = data, ""
		}
	}
	return nil
}
