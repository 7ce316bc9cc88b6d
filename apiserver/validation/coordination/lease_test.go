package coordination

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func lease(spec coordinationv1.LeaseSpec) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease", ResourceVersion: "1"},
		Spec:       spec,
	}
}

func TestValidateLease(t *testing.T) {
	strategy := func(s string) *coordinationv1.CoordinatedLeaseStrategy {
		return ptr.To(coordinationv1.CoordinatedLeaseStrategy(s))
	}
	tests := []struct {
		name  string
		lease *coordinationv1.Lease
		want  []vt.Want
	}{
		{name: "empty spec", lease: lease(coordinationv1.LeaseSpec{})},
		{name: "node heartbeat", lease: lease(coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To("node-1"),
			LeaseDurationSeconds: ptr.To[int32](40),
			RenewTime:            ptr.To(metav1.NowMicro()),
			LeaseTransitions:     ptr.To[int32](0),
		})},
		{name: "Kubernetes strategy with a preferred holder", lease: lease(coordinationv1.LeaseSpec{
			Strategy:        strategy("OldestEmulationVersion"),
			PreferredHolder: ptr.To("apiserver-1"),
		})},
		{name: "custom strategy", lease: lease(coordinationv1.LeaseSpec{Strategy: strategy("example.com/newest")})},
		{
			name:  "duration must be positive",
			lease: lease(coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](0)}),
			want:  []vt.Want{vt.Invalid("spec.leaseDurationSeconds", "must be greater than 0")},
		},
		{
			name:  "transitions may not be negative",
			lease: lease(coordinationv1.LeaseSpec{LeaseTransitions: ptr.To[int32](-1)}),
			want:  []vt.Want{vt.Invalid("spec.leaseTransitions", "must be greater than or equal to 0")},
		},
		{
			name:  "unknown Kubernetes strategy, at upstream's doubled path",
			lease: lease(coordinationv1.LeaseSpec{Strategy: strategy("Newest")}),
			want:  []vt.Want{vt.NotSupported("spec.strategy.strategy", `supported values: "OldestEmulationVersion"`)},
		},
		{
			name:  "custom strategy must be a qualified name",
			lease: lease(coordinationv1.LeaseSpec{Strategy: strategy("example.com/a/b")}),
			want:  []vt.Want{vt.Invalid("spec.strategy.strategy", "a valid label key")},
		},
		{
			name:  "preferred holder needs a strategy",
			lease: lease(coordinationv1.LeaseSpec{PreferredHolder: ptr.To("apiserver-1")}),
			want:  []vt.Want{vt.Forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined")},
		},
		{
			name:  "an empty preferred holder needs none",
			lease: lease(coordinationv1.LeaseSpec{PreferredHolder: ptr.To("")}),
		},
		{
			name:  "name must be a DNS subdomain, namespace required",
			lease: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "Node_1"}},
			want: []vt.Want{
				vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain"),
				vt.Required("metadata.namespace", ""),
			},
		},
		{
			name: "finalizers need not be standard ones",
			lease: func() *coordinationv1.Lease {
				l := lease(coordinationv1.LeaseSpec{})
				l.Finalizers = []string{"cleanup"}
				return l
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateLease(tt.lease), tt.want...)
		})
	}
}

func TestValidateLeaseUpdate(t *testing.T) {
	old := lease(coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1")})
	tests := []struct {
		name  string
		lease *coordinationv1.Lease
		want  []vt.Want
	}{
		{name: "renewal", lease: lease(coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1"), RenewTime: ptr.To(metav1.NowMicro())})},
		{name: "new holder", lease: lease(coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-2"), LeaseTransitions: ptr.To[int32](1)})},
		{
			name:  "spec rules apply",
			lease: lease(coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](-5)}),
			want:  []vt.Want{vt.Invalid("spec.leaseDurationSeconds", "must be greater than 0")},
		},
		{
			name:  "no resource version",
			lease: func() *coordinationv1.Lease { l := lease(coordinationv1.LeaseSpec{}); l.ResourceVersion = ""; return l }(),
			want:  []vt.Want{vt.Invalid("metadata.resourceVersion", "must be specified for an update")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateLeaseUpdate(tt.lease, old), tt.want...)
		})
	}
}
