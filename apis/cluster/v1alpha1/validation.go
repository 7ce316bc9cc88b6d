package v1alpha1

import (
	"fmt"
	"math/big"
	"net"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// maxNameLength bounds the cluster name: host objects (netns, bridge,
// cgroups) are named from it.
const maxNameLength = 32

// ValidateCluster checks a defaulted Cluster and returns every problem, each
// with the path of the field it is about.
func ValidateCluster(c *Cluster) field.ErrorList {
	var errs field.ErrorList
	if c.APIVersion != SchemeGroupVersion.String() {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), c.APIVersion, []string{SchemeGroupVersion.String()}))
	}
	if c.Kind != "Cluster" {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), c.Kind, []string{"Cluster"}))
	}
	namePath := field.NewPath("name")
	for _, msg := range validation.IsDNS1123Label(c.Name) {
		errs = append(errs, field.Invalid(namePath, c.Name, msg))
	}
	if len(c.Name) > maxNameLength {
		errs = append(errs, field.TooLong(namePath, c.Name, maxNameLength))
	}
	errs = append(errs, validateNodes(c.Nodes, field.NewPath("nodes"))...)
	errs = append(errs, validateNetworking(&c.Networking, len(c.Nodes), field.NewPath("networking"))...)
	for k := range c.FeatureGates {
		if k == "" {
			errs = append(errs, field.Invalid(field.NewPath("featureGates"), k, "feature gate names must not be empty"))
		}
	}
	errs = append(errs, validateExtraArgs(c.APIServerExtraArgs, field.NewPath("apiServerExtraArgs"))...)
	errs = append(errs, validateExtraArgs(c.KubeletExtraArgs, field.NewPath("kubeletExtraArgs"))...)
	for i, img := range c.Images {
		if strings.TrimSpace(img) == "" {
			errs = append(errs, field.Required(field.NewPath("images").Index(i), "an image archive path is required"))
		}
	}
	return errs
}

func validateNodes(nodes []Node, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	controlPlanes := 0
	for i := range nodes {
		n, p := &nodes[i], path.Index(i)
		switch n.Role {
		case ControlPlaneRole:
			controlPlanes++
		case WorkerRole:
		default:
			errs = append(errs, field.NotSupported(p.Child("role"), n.Role, []NodeRole{ControlPlaneRole, WorkerRole}))
		}
		for _, msg := range validation.IsDNS1123Subdomain(n.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), n.Name, msg))
		}
		if names.Has(n.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), n.Name))
		}
		names.Insert(n.Name)
		if q := n.Resources.CPU; q != nil && q.Sign() <= 0 {
			errs = append(errs, field.Invalid(p.Child("resources", "cpu"), q.String(), "must be greater than zero"))
		}
		if q := n.Resources.Memory; q != nil && q.Cmp(minNodeMemory) < 0 {
			errs = append(errs, field.Invalid(p.Child("resources", "memory"), q.String(), "must be at least "+minNodeMemory.String()))
		}
		errs = append(errs, metav1validation.ValidateLabels(n.Labels, p.Child("labels"))...)
		errs = append(errs, validateExtraArgs(n.KubeletExtraArgs, p.Child("kubeletExtraArgs"))...)
	}
	if controlPlanes == 0 {
		errs = append(errs, field.Required(path, "at least one node with role control-plane is required"))
	}
	return errs
}

func validateExtraArgs(args map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k := range args {
		if k == "" || strings.HasPrefix(k, "-") || strings.ContainsAny(k, " =") {
			errs = append(errs, field.Invalid(path.Key(k), k, "must be a flag name without leading dashes, e.g. \"v\" or \"feature-gates\""))
		}
	}
	return errs
}

// subnet is one parsed CIDR of a subnet field.
type subnet struct {
	path  *field.Path
	value string
	cidr  *net.IPNet
}

func validateNetworking(n *Networking, nodeCount int, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	var families []netutils.IPFamily
	switch n.IPFamily {
	case IPv4Family:
		families = []netutils.IPFamily{netutils.IPv4}
	case IPv6Family:
		families = []netutils.IPFamily{netutils.IPv6}
	case DualStackFamily:
		families = []netutils.IPFamily{netutils.IPv4, netutils.IPv6}
	default:
		return append(errs, field.NotSupported(path.Child("ipFamily"), n.IPFamily, []IPFamily{IPv4Family, IPv6Family, DualStackFamily}))
	}
	var all []subnet
	parse := func(name, value string) []subnet {
		p := path.Child(name)
		parts := strings.Split(value, ",")
		if len(parts) != len(families) {
			errs = append(errs, field.Invalid(p, value, fmt.Sprintf("must hold %d CIDR(s) for ipFamily %s", len(families), n.IPFamily)))
			return nil
		}
		var out []subnet
		for i, s := range parts {
			_, cidr, err := netutils.ParseCIDRSloppy(strings.TrimSpace(s))
			if err != nil {
				errs = append(errs, field.Invalid(p, value, fmt.Sprintf("%q is not a valid CIDR", s)))
				continue
			}
			if netutils.IPFamilyOfCIDR(cidr) != families[i] {
				errs = append(errs, field.Invalid(p, value, fmt.Sprintf("%q must be an %s CIDR", s, familyName(families[i]))))
				continue
			}
			out = append(out, subnet{p, value, cidr})
		}
		return out
	}
	nodeNets := parse("nodeSubnet", n.NodeSubnet)
	podNets := parse("podSubnet", n.PodSubnet)
	serviceNets := parse("serviceSubnet", n.ServiceSubnet)
	all = append(append(append(all, nodeNets...), podNets...), serviceNets...)

	for _, s := range nodeNets {
		// The host takes the first address; each node one more.
		if size := netutils.RangeSize(s.cidr); size < int64(nodeCount)+3 && size > 0 {
			errs = append(errs, field.Invalid(s.path, s.value, fmt.Sprintf("has room for %d nodes, the cluster has %d", max(size-3, 0), nodeCount)))
		}
	}
	masks := map[netutils.IPFamily]struct {
		path *field.Path
		size int32
	}{
		netutils.IPv4: {path.Child("nodeMaskSizeIPv4"), n.NodeMaskSizeIPv4},
		netutils.IPv6: {path.Child("nodeMaskSizeIPv6"), n.NodeMaskSizeIPv6},
	}
	for _, s := range podNets {
		m := masks[netutils.IPFamilyOfCIDR(s.cidr)]
		ones, bits := s.cidr.Mask.Size()
		if m.size <= int32(ones) || m.size > int32(bits) {
			errs = append(errs, field.Invalid(m.path, m.size, fmt.Sprintf("must be longer than the podSubnet prefix /%d and at most %d", ones, bits)))
			continue
		}
		if m.size-int32(ones) < 63 {
			if avail := new(big.Int).Lsh(big.NewInt(1), uint(m.size-int32(ones))); avail.Cmp(big.NewInt(int64(nodeCount))) < 0 {
				errs = append(errs, field.Invalid(s.path, s.value, fmt.Sprintf("has room for %s node podCIDRs of /%d, the cluster has %d nodes", avail, m.size, nodeCount)))
			}
		}
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			a, b := all[i], all[j]
			if a.path.String() != b.path.String() && (a.cidr.Contains(b.cidr.IP) || b.cidr.Contains(a.cidr.IP)) {
				errs = append(errs, field.Invalid(b.path, b.value, fmt.Sprintf("overlaps %s %s", a.path, a.cidr)))
			}
		}
	}

	for _, msg := range validation.IsDNS1123Subdomain(n.ClusterDomain) {
		errs = append(errs, field.Invalid(path.Child("clusterDomain"), n.ClusterDomain, msg))
	}
	for _, msg := range validation.IsValidPortNum(int(n.APIServerPort)) {
		errs = append(errs, field.Invalid(path.Child("apiServerPort"), n.APIServerPort, msg))
	}
	return errs
}

// minNodeMemory is the least memory a node can run a kubelet and a pod in.
var minNodeMemory = resource.MustParse("64Mi")

func familyName(f netutils.IPFamily) string {
	if f == netutils.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}
