package runtime

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits on the pod's resolv.conf, as the API server validates them.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

// DNSSettings are the node's DNS parameters.
type DNSSettings struct {
	// ClusterDNS are the cluster DNS servers; ClusterFirst pods fall back
	// to the host's resolv.conf when it is empty.
	ClusterDNS []string
	// ClusterDomain, e.g. "cluster.local".
	ClusterDomain string
	// ResolvConf is the host file Default pods inherit; "" means none (the
	// pod then gets 127.0.0.1 and search ".").
	ResolvConf string
}

// DNSConfig is a pod's resolv.conf.
type DNSConfig struct {
	Servers  []string
	Searches []string
	Options  []string
}

// String renders the resolv.conf file.
func (d DNSConfig) String() string {
	var b strings.Builder
	if len(d.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(d.Searches, " "))
	}
	for _, s := range d.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(d.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(d.Options, " "))
	}
	return b.String()
}

// PodDNS computes a pod's resolv.conf as the kubelet does from its dnsPolicy
// and dnsConfig. The warnings are what upstream reports as events
// (MissingClusterDNS, DNSConfigForming); the caller records them.
func PodDNS(pod *corev1.Pod, s DNSSettings) (DNSConfig, []string, error) {
	var warnings []string
	host, err := readResolvConf(s.ResolvConf)
	if err != nil {
		return DNSConfig{}, nil, err
	}
	cfg := host
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	useCluster := false
	switch policy {
	case corev1.DNSNone:
		cfg = DNSConfig{}
	case corev1.DNSClusterFirstWithHostNet:
		useCluster = true
	case corev1.DNSClusterFirst:
		useCluster = !pod.Spec.HostNetwork
	case corev1.DNSDefault:
	default:
		useCluster = true
	}
	if useCluster && len(s.ClusterDNS) == 0 {
		warnings = append(warnings, fmt.Sprintf("MissingClusterDNS: kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.", corev1.DNSClusterFirst, corev1.DNSDefault))
		useCluster = false
	}
	if useCluster {
		cfg.Servers = append([]string(nil), s.ClusterDNS...)
		if s.ClusterDomain != "" {
			cfg.Searches = uniqueStrings(append([]string{
				pod.Namespace + ".svc." + s.ClusterDomain, "svc." + s.ClusterDomain, s.ClusterDomain,
			}, host.Searches...))
		}
		cfg.Options = []string{"ndots:5"}
	} else if policy != corev1.DNSNone && s.ResolvConf == "" {
		cfg.Servers = []string{"127.0.0.1"}
		cfg.Searches = []string{"."}
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		cfg.Servers = uniqueStrings(append(cfg.Servers, dc.Nameservers...))
		cfg.Searches = uniqueStrings(append(cfg.Searches, dc.Searches...))
		cfg.Options = mergeDNSOptions(cfg.Options, dc.Options)
	}
	if len(cfg.Servers) > maxDNSNameservers {
		cfg.Servers = cfg.Servers[:maxDNSNameservers]
		warnings = append(warnings, "DNSConfigForming: Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "+strings.Join(cfg.Servers, " "))
	}
	var searchTrimmed bool
	if cfg.Searches, searchTrimmed = fitSearches(cfg.Searches); searchTrimmed {
		warnings = append(warnings, "DNSConfigForming: Search Line limits were exceeded, some search paths have been omitted, the applied search line is: "+strings.Join(cfg.Searches, " "))
	}
	return cfg, warnings, nil
}

func fitSearches(in []string) ([]string, bool) {
	trimmed := false
	if len(in) > maxDNSSearchPaths {
		in, trimmed = in[:maxDNSSearchPaths], true
	}
	var out []string
	for _, s := range in {
		if len(s) > validation.DNS1123SubdomainMaxLength {
			trimmed = true
			continue
		}
		out = append(out, s)
	}
	for len(out) > 0 && len(strings.Join(out, " ")) > maxDNSSearchListChars {
		out, trimmed = out[:len(out)-1], true
	}
	return out, trimmed
}

func readResolvConf(path string) (DNSConfig, error) {
	var cfg DNSConfig
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read resolv.conf %s: %w", path, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) >= 2 {
				cfg.Servers = append(cfg.Servers, f[1])
			}
		case "search":
			cfg.Searches = nil
			for _, s := range f[1:] {
				if s != "." {
					cfg.Searches = append(cfg.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			cfg.Options = mergeOptionStrings(cfg.Options, f[1:])
		}
	}
	return cfg, nil
}

func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptionStrings merges "name[:value]" options, later ones winning,
// sorted by name.
func mergeOptionStrings(base, more []string) []string {
	m := map[string]string{}
	for _, o := range append(append([]string{}, base...), more...) {
		name, _, _ := strings.Cut(o, ":")
		m[name] = o
	}
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

func mergeDNSOptions(base []string, opts []corev1.PodDNSConfigOption) []string {
	more := make([]string, 0, len(opts))
	for _, o := range opts {
		if o.Value != nil && *o.Value != "" {
			more = append(more, o.Name+":"+*o.Value)
		} else {
			more = append(more, o.Name)
		}
	}
	return mergeOptionStrings(base, more)
}

// PodHostnameAndDomain returns the pod's hostname (spec.hostname or the pod
// name, cut to 63 characters) and, with a subdomain, its domain
// <subdomain>.<namespace>.svc.<clusterDomain>.
func PodHostnameAndDomain(pod *corev1.Pod, clusterDomain string) (string, string, error) {
	if o := pod.Spec.HostnameOverride; o != nil && *o != "" {
		if msgs := validation.IsDNS1123Subdomain(*o); len(msgs) != 0 {
			return "", "", fmt.Errorf("pod HostnameOverride %q is not a valid DNS subdomain: %s", *o, strings.Join(msgs, ";"))
		}
		h, err := truncateHostname(pod.Name, *o)
		return h, "", err
	}
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		if msgs := validation.IsDNS1123Label(pod.Spec.Hostname); len(msgs) != 0 {
			return "", "", fmt.Errorf("pod Hostname %q is not a valid DNS label: %s", pod.Spec.Hostname, strings.Join(msgs, ";"))
		}
		hostname = pod.Spec.Hostname
	}
	hostname, err := truncateHostname(pod.Name, hostname)
	if err != nil {
		return "", "", err
	}
	domain := ""
	if pod.Spec.Subdomain != "" {
		if msgs := validation.IsDNS1123Label(pod.Spec.Subdomain); len(msgs) != 0 {
			return "", "", fmt.Errorf("pod Subdomain %q is not a valid DNS label: %s", pod.Spec.Subdomain, strings.Join(msgs, ";"))
		}
		domain = fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
	}
	return hostname, domain, nil
}

func truncateHostname(podName, h string) (string, error) {
	const maxLen = 63
	if len(h) <= maxLen {
		return h, nil
	}
	h = strings.TrimRight(h[:maxLen], "-.")
	if h == "" {
		return "", fmt.Errorf("hostname for pod %q was invalid: %q", podName, h)
	}
	return h, nil
}

// HostsFile renders the pod's /etc/hosts as the kubelet manages it: the
// localhost entries, one line per pod IP naming the pod, then hostAliases.
// Host-network pods get the node's file (read from nodeHosts) instead.
func HostsFile(pod *corev1.Pod, podIPs []string, hostname, domain, nodeHosts string) ([]byte, error) {
	var b bytes.Buffer
	if pod.Spec.HostNetwork {
		host, err := os.ReadFile(nodeHosts)
		if err != nil {
			return nil, fmt.Errorf("read node hosts file: %w", err)
		}
		b.WriteString("# Kubernetes-managed hosts file (host network).\n")
		b.Write(host)
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n")
		b.WriteString("127.0.0.1\tlocalhost\n")
		b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\n")
		b.WriteString("fe00::0\tip6-mcastprefix\n")
		b.WriteString("fe00::1\tip6-allnodes\n")
		b.WriteString("fe00::2\tip6-allrouters\n")
		for _, ip := range podIPs {
			if domain != "" {
				fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, hostname, domain, hostname)
			} else {
				fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
			}
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes(), nil
}
