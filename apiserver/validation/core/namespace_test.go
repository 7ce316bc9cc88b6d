package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func namespace(name string, finalizers ...corev1.FinalizerName) *corev1.Namespace {
	return &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
		Spec:       corev1.NamespaceSpec{Finalizers: finalizers},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
}

func TestValidateNamespace(t *testing.T) {
	tests := []struct {
		name string
		ns   *corev1.Namespace
		want []vt.Want
	}{
		{name: "valid", ns: namespace("team-a", corev1.FinalizerKubernetes, "example.com/cleanup")},
		{
			name: "name must be a DNS label",
			ns:   namespace("team_a"),
			want: []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 label must consist of")},
		},
		{
			name: "name required",
			ns:   namespace(""),
			want: []vt.Want{vt.Required("metadata.name", "name or generateName is required")},
		},
		{
			name: "namespace forbidden",
			ns:   func() *corev1.Namespace { ns := namespace("a"); ns.Namespace = "b"; return ns }(),
			want: []vt.Want{vt.Forbidden("metadata.namespace", "not allowed on this type")},
		},
		{
			name: "spec finalizer not standard, reported without index",
			ns:   namespace("a", corev1.FinalizerKubernetes, "cleanup"),
			want: []vt.Want{vt.Invalid("spec.finalizers", "name is neither a standard finalizer name nor is it fully qualified")},
		},
		{
			name: "spec finalizer not a qualified name",
			ns:   namespace("a", "example.com/a/b"),
			want: []vt.Want{vt.Invalid("spec.finalizers", "a valid label key")},
		},
		{
			name: "metadata finalizer not standard",
			ns:   func() *corev1.Namespace { ns := namespace("a"); ns.Finalizers = []string{"cleanup"}; return ns }(),
			want: []vt.Want{vt.Invalid("metadata.finalizers[0]", "neither a standard finalizer name")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateNamespace(tt.ns), tt.want...)
		})
	}
}

func TestValidateNamespaceUpdate(t *testing.T) {
	old := namespace("team-a")
	tests := []struct {
		name string
		ns   *corev1.Namespace
		want []vt.Want
	}{
		{name: "labels change", ns: func() *corev1.Namespace {
			ns := namespace("team-a")
			ns.Labels = map[string]string{"a": "b"}
			return ns
		}()},
		{
			name: "rename",
			ns:   namespace("team-b"),
			want: []vt.Want{vt.Invalid("metadata.name", "field is immutable")},
		},
		{
			name: "no resource version",
			ns:   func() *corev1.Namespace { ns := namespace("team-a"); ns.ResourceVersion = ""; return ns }(),
			want: []vt.Want{vt.Invalid("metadata.resourceVersion", "must be specified for an update")},
		},
		{
			name: "create rules apply",
			ns:   namespace("team-a", "cleanup"),
			want: []vt.Want{vt.Invalid("spec.finalizers", "neither a standard finalizer name")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateNamespaceUpdate(tt.ns, old), tt.want...)
		})
	}
}

func TestValidateNamespaceStatusUpdate(t *testing.T) {
	now := metav1.Now()
	withStatus := func(phase corev1.NamespacePhase, deleting bool) *corev1.Namespace {
		ns := namespace("team-a")
		ns.Status.Phase = phase
		if deleting {
			ns.DeletionTimestamp = &now
		}
		return ns
	}
	tests := []struct {
		name string
		ns   *corev1.Namespace
		old  *corev1.Namespace
		want []vt.Want
	}{
		{name: "active", ns: withStatus(corev1.NamespaceActive, false), old: withStatus(corev1.NamespaceActive, false)},
		{name: "terminating while deleted", ns: withStatus(corev1.NamespaceTerminating, true), old: withStatus(corev1.NamespaceActive, true)},
		{
			name: "terminating before deletion",
			ns:   withStatus(corev1.NamespaceTerminating, false),
			old:  withStatus(corev1.NamespaceActive, false),
			want: []vt.Want{vt.Invalid("status.Phase", "may only be 'Active' if `deletionTimestamp` is empty")},
		},
		{
			name: "active while deleted",
			ns:   withStatus(corev1.NamespaceActive, true),
			old:  withStatus(corev1.NamespaceActive, true),
			want: []vt.Want{vt.Invalid("status.Phase", "may only be 'Terminating' if `deletionTimestamp` is not empty")},
		},
		{
			name: "metadata update rules apply",
			ns:   withStatus(corev1.NamespaceTerminating, true),
			old:  withStatus(corev1.NamespaceActive, false),
			want: []vt.Want{vt.Invalid("metadata.deletionTimestamp", "field is immutable")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateNamespaceStatusUpdate(tt.ns, tt.old), tt.want...)
		})
	}
}

func TestValidateNamespaceFinalizeUpdate(t *testing.T) {
	old := namespace("team-a", corev1.FinalizerKubernetes)
	tests := []struct {
		name string
		ns   *corev1.Namespace
		want []vt.Want
	}{
		{name: "finalizer removed", ns: namespace("team-a")},
		{name: "finalizer added", ns: namespace("team-a", corev1.FinalizerKubernetes, "example.com/cleanup")},
		{
			name: "bad finalizer, reported with its index",
			ns:   namespace("team-a", corev1.FinalizerKubernetes, "cleanup"),
			want: []vt.Want{vt.Invalid("spec.finalizers[1]", "neither a standard finalizer name")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateNamespaceFinalizeUpdate(tt.ns, old), tt.want...)
		})
	}
}
