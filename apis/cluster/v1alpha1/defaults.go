package v1alpha1

import (
	"fmt"
	"strings"
)

// Defaults.
const (
	DefaultName          = "skiff"
	DefaultClusterDomain = "cluster.local"
	DefaultAPIServerPort = 6443

	defaultNodeSubnet4    = "172.30.0.0/24"
	defaultNodeSubnet6    = "fd00:5c1f:0:1::/64"
	defaultPodSubnet4     = "10.244.0.0/16"
	defaultPodSubnet6     = "fd00:10:244::/56"
	defaultServiceSubnet4 = "10.96.0.0/16"
	defaultServiceSubnet6 = "fd00:10:96::/112"
	defaultNodeMask4      = 24
	defaultNodeMask6      = 64
)

// SetDefaults_Cluster fills every unset field of c with its default.
func SetDefaults_Cluster(c *Cluster) { //nolint:revive // the defaulter-gen naming convention
	if c.APIVersion == "" {
		c.APIVersion = SchemeGroupVersion.String()
	}
	if c.Kind == "" {
		c.Kind = "Cluster"
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if len(c.Nodes) == 0 {
		c.Nodes = []Node{{}}
	}
	counts := map[NodeRole]int{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Role == "" {
			n.Role = ControlPlaneRole
		}
		counts[n.Role]++
		if n.Name == "" {
			n.Name = defaultNodeName(c.Name, n.Role, counts[n.Role])
		}
	}
	setDefaultsNetworking(&c.Networking)
}

// defaultNodeName names the i-th (from 1) node of a role as kind does:
// skiff-control-plane, skiff-control-plane2, skiff-worker, skiff-worker2.
func defaultNodeName(cluster string, role NodeRole, i int) string {
	name := cluster + "-" + string(role)
	if i > 1 {
		name += fmt.Sprint(i)
	}
	return name
}

func setDefaultsNetworking(n *Networking) {
	if n.IPFamily == "" {
		n.IPFamily = IPv4Family
	}
	pick := func(v4, v6 string) string {
		switch n.IPFamily {
		case IPv6Family:
			return v6
		case DualStackFamily:
			return v4 + "," + v6
		default:
			return v4
		}
	}
	if n.NodeSubnet == "" {
		n.NodeSubnet = pick(defaultNodeSubnet4, defaultNodeSubnet6)
	}
	if n.PodSubnet == "" {
		n.PodSubnet = pick(defaultPodSubnet4, defaultPodSubnet6)
	}
	if n.ServiceSubnet == "" {
		n.ServiceSubnet = pick(defaultServiceSubnet4, defaultServiceSubnet6)
	}
	if n.NodeMaskSizeIPv4 == 0 {
		n.NodeMaskSizeIPv4 = defaultNodeMask4
	}
	if n.NodeMaskSizeIPv6 == 0 {
		n.NodeMaskSizeIPv6 = defaultNodeMask6
	}
	if n.ClusterDomain == "" {
		n.ClusterDomain = DefaultClusterDomain
	}
	n.ClusterDomain = strings.TrimSuffix(n.ClusterDomain, ".")
	if n.APIServerPort == 0 {
		n.APIServerPort = DefaultAPIServerPort
	}
}
