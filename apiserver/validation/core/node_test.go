package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// node returns a valid Node with the given pod CIDRs, changed by tweaks.
func node(cidrs []string, tweaks ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-a", ResourceVersion: "1"},
		Spec:       corev1.NodeSpec{PodCIDRs: cidrs},
	}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
	}
	for _, tweak := range tweaks {
		tweak(n)
	}
	return n
}

func TestValidateNodeUpdate(t *testing.T) {
	configSource := &corev1.NodeConfigSource{ConfigMap: &corev1.ConfigMapNodeConfigSource{
		Namespace: "kube-system", Name: "kubelet", KubeletConfigKey: "kubelet",
	}}
	tests := []struct {
		name    string
		old, n  *corev1.Node
		want    []vt.Want
		viaStat bool
	}{
		{name: "pod CIDRs set once", old: node(nil), n: node([]string{"10.244.1.0/24"})},
		{
			name: "pod CIDRs changed",
			old:  node([]string{"10.244.1.0/24"}),
			n:    node([]string{"10.244.2.0/24"}),
			want: []vt.Want{vt.Forbidden("spec.podCIDRs", `node updates may not change podCIDR except from "" to valid`)},
		},
		{
			name: "pod CIDR added to a single-stack node",
			old:  node([]string{"10.244.1.0/24"}),
			n:    node([]string{"10.244.1.0/24", "fd00::/64"}),
			want: []vt.Want{vt.Forbidden("spec.podCIDRs", `node updates may not change podCIDR except from "" to valid`)},
		},
		{
			name: "providerID set once",
			old:  node(nil),
			n:    node(nil, func(n *corev1.Node) { n.Spec.ProviderID = "skiff://a" }),
		},
		{
			name: "providerID changed",
			old:  node(nil, func(n *corev1.Node) { n.Spec.ProviderID = "skiff://a" }),
			n:    node(nil, func(n *corev1.Node) { n.Spec.ProviderID = "skiff://b" }),
			want: []vt.Want{vt.Forbidden("spec.providerID", `node updates may not change providerID except from "" to valid`)},
		},
		{
			name: "externalID changed",
			old:  node(nil),
			n:    node(nil, func(n *corev1.Node) { n.Spec.DoNotUseExternalID = "x" }),
			want: []vt.Want{vt.Forbidden("spec.externalID", "may not be updated")},
		},
		{
			name:    "duplicate addresses through status",
			old:     node(nil),
			viaStat: true,
			n: node(nil, func(n *corev1.Node) {
				a := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "192.0.2.1"}
				n.Status.Addresses = []corev1.NodeAddress{a, {Type: corev1.NodeHostName, Address: "node-a"}, a}
			}),
			want: []vt.Want{wantDuplicate("status.addresses[2]")},
		},
		{
			name: "taints are validated on update too",
			old:  node(nil),
			n:    node(nil, func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "a"}} }),
			want: []vt.Want{vt.Required("metadata.taints[0].effect", "")},
		},
		{
			name: "valid config source in spec",
			old:  node(nil),
			n:    node(nil, func(n *corev1.Node) { n.Spec.ConfigSource = configSource }),
		},
		{
			name: "config source in spec with uid, without name",
			old:  node(nil),
			n: node(nil, func(n *corev1.Node) {
				src := configSource.DeepCopy()
				src.ConfigMap.UID, src.ConfigMap.Name = "123", ""
				n.Spec.ConfigSource = src
			}),
			want: []vt.Want{
				vt.Forbidden("spec.configSource.configMap.uid", "uid must not be set in spec"),
				vt.Required("spec.configSource.configMap.name", "name must be set"),
			},
		},
		{
			name: "empty config source",
			old:  node(nil),
			n:    node(nil, func(n *corev1.Node) { n.Spec.ConfigSource = &corev1.NodeConfigSource{} }),
			want: []vt.Want{vt.Invalid("spec.configSource", "exactly one reference subfield must be non-nil")},
		},
		{
			name:    "config status without uid and resourceVersion",
			old:     node(nil),
			viaStat: true,
			n: node(nil, func(n *corev1.Node) {
				n.Status.Config = &corev1.NodeConfigStatus{Active: configSource.DeepCopy()}
			}),
			want: []vt.Want{
				vt.Required("status.config.active.configMap.uid", "uid must be set in status"),
				vt.Required("status.config.active.configMap.resourceVersion", "resourceVersion must be set in status"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			validate := ValidateNodeUpdate
			if tt.viaStat {
				validate = ValidateNodeStatusUpdate
			}
			vt.Expect(t, validate(tt.n, tt.old), tt.want...)
		})
	}
}
