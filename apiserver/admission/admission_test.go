package admission

import (
	"slices"
	"testing"
)

func TestNewOptionsRegistersEveryPluginInOrder(t *testing.T) {
	o := NewOptions()
	registered := o.Plugins.Registered()
	for _, name := range o.RecommendedPluginOrder {
		if !slices.Contains(registered, name) {
			t.Errorf("%s is ordered but not registered", name)
		}
	}
	for _, name := range registered {
		if !slices.Contains(o.RecommendedPluginOrder, name) {
			t.Errorf("%s is registered but not ordered", name)
		}
	}
	// Relative order kube-apiserver relies on.
	before := [][2]string{
		{"NamespaceLifecycle", "LimitRanger"},
		{"LimitRanger", "ServiceAccount"},
		{"ServiceAccount", "NodeRestriction"},
		{"NodeRestriction", "TaintNodesByCondition"},
		{"ServiceAccount", "PodSecurity"},
		{"PodSecurity", "Priority"},
		{"Priority", "DefaultTolerationSeconds"},
		{"DefaultStorageClass", "StorageObjectInUseProtection"},
		{"StorageObjectInUseProtection", "PersistentVolumeClaimResize"},
		{"PersistentVolumeClaimResize", "RuntimeClass"},
		{"RuntimeClass", "MutatingAdmissionWebhook"},
		{"RuntimeClass", "CertificateApproval"},
		{"CertificateApproval", "CertificateSigning"},
		{"CertificateSigning", "ClusterTrustBundleAttest"},
		{"ClusterTrustBundleAttest", "CertificateSubjectRestriction"},
		{"CertificateSubjectRestriction", "DefaultIngressClass"},
		{"DefaultIngressClass", "MutatingAdmissionPolicy"},
		{"ValidatingAdmissionWebhook", "ResourceQuota"},
	}
	for _, p := range before {
		if slices.Index(o.RecommendedPluginOrder, p[0]) >= slices.Index(o.RecommendedPluginOrder, p[1]) {
			t.Errorf("%s must run before %s: %v", p[0], p[1], o.RecommendedPluginOrder)
		}
	}
	if last := o.RecommendedPluginOrder[len(o.RecommendedPluginOrder)-1]; last != "ResourceQuota" {
		t.Errorf("last plugin = %s, want ResourceQuota", last)
	}
	if off := o.DefaultOffPlugins.UnsortedList(); len(off) != 1 || off[0] != "NodeRestriction" {
		t.Errorf("default-off plugins = %v, want [NodeRestriction] as kube-apiserver's", off)
	}
}
