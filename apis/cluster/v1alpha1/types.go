package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cluster describes a Skiff cluster brought up on one host by `skiff up`.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type Cluster struct {
	metav1.TypeMeta `json:",inline"`

	// Name names the cluster: its kubeconfig context is "skiff-<name>"
	// ("skiff" for the default name) and its host objects (bridge, netns,
	// cgroups, BPF pins) carry it. Default "skiff".
	Name string `json:"name,omitempty"`

	// Nodes are the cluster's machines. Default: one control-plane node.
	// Control-plane nodes run an etcd member and an API server (plus the
	// controller manager and scheduler, leader-elected) and also run pods.
	Nodes []Node `json:"nodes,omitempty"`

	// Networking configures node, pod and Service addressing and DNS.
	Networking Networking `json:"networking,omitempty"`

	// FeatureGates are passed to every component.
	FeatureGates map[string]bool `json:"featureGates,omitempty"`

	// APIServerExtraArgs are added to every API server's flags
	// ("flag-name": "value", without the leading dashes).
	APIServerExtraArgs map[string]string `json:"apiServerExtraArgs,omitempty"`

	// KubeletExtraArgs are added to every kubelet's flags.
	KubeletExtraArgs map[string]string `json:"kubeletExtraArgs,omitempty"`

	// Images are image archives (docker or OCI tar files) imported into
	// every node's container runtime before workloads start. The busybox
	// image Skiff builds itself is always present.
	Images []string `json:"images,omitempty"`
}

// NodeRole is what a node runs.
type NodeRole string

const (
	// ControlPlaneRole nodes run etcd, an API server, the controller manager
	// and the scheduler, and also the node components.
	ControlPlaneRole NodeRole = "control-plane"
	// WorkerRole nodes run the kubelet and the proxy.
	WorkerRole NodeRole = "worker"
)

// Node is one machine of the cluster: a network namespace on the host with
// its own IP, kubelet, container runtime state and proxy.
type Node struct {
	// Role is control-plane or worker. Default control-plane, as kind's.
	Role NodeRole `json:"role,omitempty"`

	// Name is the Node object's name. Default as kind names them:
	// <cluster>-control-plane, <cluster>-control-plane2, ...,
	// <cluster>-worker, <cluster>-worker2, ...
	Name string `json:"name,omitempty"`

	// Resources cap the node: cpu and memory limits on the node's cgroup,
	// reported as the node's capacity. Unset means the host's.
	Resources NodeResources `json:"resources,omitempty"`

	// Labels are added to the Node object at registration.
	Labels map[string]string `json:"labels,omitempty"`

	// KubeletExtraArgs are added to this node's kubelet flags, after the
	// cluster-wide ones.
	KubeletExtraArgs map[string]string `json:"kubeletExtraArgs,omitempty"`
}

// NodeResources are per-node limits.
type NodeResources struct {
	// CPU is the node's CPU limit, e.g. "1" or "500m".
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory is the node's memory limit, e.g. "2Gi".
	Memory *resource.Quantity `json:"memory,omitempty"`
}

// IPFamily selects the cluster's address families.
type IPFamily string

// IP families.
const (
	IPv4Family      IPFamily = "ipv4"
	IPv6Family      IPFamily = "ipv6"
	DualStackFamily IPFamily = "dual"
)

// Networking is the cluster's addressing.
type Networking struct {
	// IPFamily is ipv4 (default), ipv6 or dual. With dual, each subnet
	// field holds an IPv4 and an IPv6 CIDR, comma-separated.
	IPFamily IPFamily `json:"ipFamily,omitempty"`
	// NodeSubnet is the host bridge's subnet, from which every node gets
	// its IP. The first address is the host's. Default 172.30.0.0/24
	// (fd00:5c1f:0:1::/64 for IPv6).
	NodeSubnet string `json:"nodeSubnet,omitempty"`
	// PodSubnet is the cluster CIDR: each node gets a part of it as its
	// podCIDR. Default 10.244.0.0/16 (fd00:10:244::/56).
	PodSubnet string `json:"podSubnet,omitempty"`
	// NodeMaskSizeIPv4 and NodeMaskSizeIPv6 are the prefix lengths of each
	// node's podCIDR of that family. Defaults 24 and 64.
	NodeMaskSizeIPv4 int32 `json:"nodeMaskSizeIPv4,omitempty"`
	NodeMaskSizeIPv6 int32 `json:"nodeMaskSizeIPv6,omitempty"`
	// ServiceSubnet is the Service cluster IP range. Default 10.96.0.0/16
	// (fd00:10:96::/112).
	ServiceSubnet string `json:"serviceSubnet,omitempty"`
	// ClusterDomain is the DNS domain of Services. Default cluster.local.
	ClusterDomain string `json:"clusterDomain,omitempty"`
	// APIServerPort is the port of the host address that balances over the
	// API servers. Default 6443.
	APIServerPort int32 `json:"apiServerPort,omitempty"`
}
