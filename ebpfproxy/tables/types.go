package tables

import (
	"fmt"
	"net/netip"
	"time"
)

// ServiceName is a Service's namespace and name.
type ServiceName struct {
	Namespace, Name string
}

func (n ServiceName) String() string { return n.Namespace + "/" + n.Name }

// Protocol is an IP protocol number.
type Protocol uint8

// The protocols a Service port can have.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("proto-%d", uint8(p))
}

// FrontendType says how a frontend address came to be.
type FrontendType string

// Frontend types, as kube-proxy names them.
const (
	ClusterIP    FrontendType = "ClusterIP"
	NodePort     FrontendType = "NodePort"
	ExternalIP   FrontendType = "ExternalIP"
	LoadBalancer FrontendType = "LoadBalancer"
)

// TrafficPolicy is a Service's internal or external traffic policy.
type TrafficPolicy string

// Traffic policies; empty means Cluster.
const (
	PolicyCluster TrafficPolicy = "Cluster"
	PolicyLocal   TrafficPolicy = "Local"
)

// Service is what the proxy needs of a Kubernetes Service.
type Service struct {
	Name ServiceName
	// ClusterIPs are the virtual IPs; empty for a headless Service, which the
	// proxy leaves alone.
	ClusterIPs []netip.Addr
	// ExternalIPs and LoadBalancerIPs are further frontend addresses.
	ExternalIPs     []netip.Addr
	LoadBalancerIPs []netip.Addr
	Ports           []ServicePort
	// AffinityTimeout is the ClientIP session affinity timeout; 0 means no
	// affinity.
	AffinityTimeout       time.Duration
	InternalTrafficPolicy TrafficPolicy
	ExternalTrafficPolicy TrafficPolicy
	// HealthCheckNodePort is the node port answering load-balancer health
	// checks of an externalTrafficPolicy: Local service; 0 for none.
	HealthCheckNodePort uint16
}

// ServicePort is one port of a Service.
type ServicePort struct {
	// Name matches backends' PortName; may be empty for a single port.
	Name     string
	Protocol Protocol
	Port     uint16
	// NodePort is 0 unless the Service is NodePort or LoadBalancer.
	NodePort uint16
}

// Backend is one endpoint address with one port, as an EndpointSlice
// reports it.
type Backend struct {
	Addr     netip.AddrPort
	Protocol Protocol
	// PortName is the EndpointSlice port name, matched to ServicePort.Name.
	PortName string
	NodeName string
	Zone     string
	// Conditions as in EndpointSlice (nil Ready/Serving already resolved).
	Ready, Serving, Terminating bool
	// ForZones and ForNodes are the topology hints.
	ForZones []string
	ForNodes []string
}

// Node is the node the proxy runs on.
type Node struct {
	Name string
	Zone string
	// Addresses are the node's IPs on which NodePort frontends exist.
	Addresses []netip.Addr
}

// Scope separates the backend set ClusterIP frontends use from the one the
// other frontends use; they differ only under internalTrafficPolicy: Local.
type Scope uint8

// Scopes.
const (
	ScopeInternal Scope = iota
	ScopeExternal
	// ScopeNodeLocal is the backend set packets from other hosts use under
	// externalTrafficPolicy: Local: this node's endpoints only. Its
	// frontends exist only on the TC path.
	ScopeNodeLocal
)

func (s Scope) String() string {
	switch s {
	case ScopeExternal:
		return "external"
	case ScopeNodeLocal:
		return "node-local"
	}
	return "internal"
}

// Family is an IP family.
type Family uint8

// Families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// LBKey names a load-balancing unit: one port of one Service, in one IP
// family and one scope. It is what the datapath calls a service (one id,
// one Maglev table).
type LBKey struct {
	Service  ServiceName
	Port     string
	Protocol Protocol
	Family   Family
	Scope    Scope
}

func (k LBKey) String() string {
	s := fmt.Sprintf("%s:%s/%s", k.Service, k.Port, k.Protocol)
	if k.Family == IPv6 {
		s += "/v6"
	}
	if k.Scope != ScopeInternal {
		s += "(" + k.Scope.String() + ")"
	}
	return s
}

// Frontend is an address clients connect to.
type Frontend struct {
	Addr     netip.AddrPort
	Protocol Protocol
	Type     FrontendType
}

func (f Frontend) String() string { return fmt.Sprintf("%s/%s", f.Addr, f.Protocol) }

// LBService is what the datapath should do for one LBKey.
type LBService struct {
	Key       LBKey
	Frontends []Frontend
	// Backends are the usable backends, sorted; empty means connections to
	// the frontends are refused.
	Backends        []netip.AddrPort
	AffinityTimeout time.Duration
	// SNAT says packets from other hosts to this unit's NodePort,
	// externalIP and load-balancer frontends are served on the TC path and
	// masqueraded to the node's address (externalTrafficPolicy: Cluster).
	// A ScopeNodeLocal unit serves them instead, keeping the client address.
	SNAT bool
}

// HealthCheck is one healthCheckNodePort to answer.
type HealthCheck struct {
	Service ServiceName
	Port    uint16
	// LocalEndpoints counts the service's ready endpoints on this node.
	LocalEndpoints int
}

// Desired is the computed state for the datapath, sorted by key.
type Desired struct {
	Services []LBService
	// Conflicts lists frontends claimed by more than one service; the
	// first service in name order keeps them.
	Conflicts []string
	// Node is the node the state was computed for; its first address of a
	// family is the source masqueraded packets get.
	Node Node
}

// SNATAddr is the node address of a family that masqueraded packets from
// other hosts get as their source, if the node has one.
func (n Node) SNATAddr(fam Family) (netip.Addr, bool) {
	for _, a := range n.Addresses {
		if familyOf(a) == fam {
			return a, true
		}
	}
	return netip.Addr{}, false
}
