package noderestriction

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// kubeletLabels are the kubernetes.io labels a kubelet may set on its Node.
var kubeletLabels = map[string]bool{
	corev1.LabelHostname:                true,
	corev1.LabelTopologyZone:            true,
	corev1.LabelTopologyRegion:          true,
	corev1.LabelFailureDomainBetaZone:   true,
	corev1.LabelFailureDomainBetaRegion: true,
	corev1.LabelInstanceType:            true,
	corev1.LabelInstanceTypeStable:      true,
	corev1.LabelOSStable:                true,
	corev1.LabelArchStable:              true,
	"beta.kubernetes.io/os":             true,
	"beta.kubernetes.io/arch":           true,
}

// kubeletLabelDomains are label prefixes (and their subdomains) a kubelet
// may use freely.
var kubeletLabelDomains = []string{
	corev1.LabelNamespaceSuffixKubelet, // kubelet.kubernetes.io
	corev1.LabelNamespaceSuffixNode,    // node.kubernetes.io
}

// labelPrefix returns the prefix (DNS domain) of a label key, "" if none.
func labelPrefix(key string) string {
	if prefix, _, ok := strings.Cut(key, "/"); ok {
		return prefix
	}
	return ""
}

// inDomain reports whether prefix is domain or a subdomain of it.
func inDomain(prefix, domain string) bool {
	return prefix == domain || strings.HasSuffix(prefix, "."+domain)
}

func isKubeletLabel(key string) bool {
	if kubeletLabels[key] {
		return true
	}
	prefix := labelPrefix(key)
	for _, d := range kubeletLabelDomains {
		if inDomain(prefix, d) {
			return true
		}
	}
	return false
}

// isKubernetesLabel reports whether a label is under kubernetes.io or k8s.io.
func isKubernetesLabel(key string) bool {
	prefix := labelPrefix(key)
	return inDomain(prefix, "kubernetes.io") || inDomain(prefix, "k8s.io")
}

// changedLabels returns the keys added, removed or changed between two label
// sets.
func changedLabels(newLabels, oldLabels map[string]string) map[string]bool {
	changed := map[string]bool{}
	for k, v := range newLabels {
		if old, ok := oldLabels[k]; !ok || old != v {
			changed[k] = true
		}
	}
	for k, v := range oldLabels {
		if n, ok := newLabels[k]; !ok || n != v {
			changed[k] = true
		}
	}
	return changed
}

// forbiddenLabels returns, sorted, the changed labels a node may not touch:
// any under node-restriction.kubernetes.io, and kubernetes.io / k8s.io
// labels other than the kubelet's own.
func forbiddenLabels(changed map[string]bool) []string {
	var out []string
	for key := range changed {
		if inDomain(labelPrefix(key), corev1.LabelNamespaceNodeRestriction) ||
			(isKubernetesLabel(key) && !isKubeletLabel(key)) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}
