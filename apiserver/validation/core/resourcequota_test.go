package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func quota(scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "team-a", ResourceVersion: "1"},
		Spec: corev1.ResourceQuotaSpec{
			Hard:   corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")},
			Scopes: scopes,
		},
	}
}

func TestValidateResourceQuotaUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old, q *corev1.ResourceQuota
		want   []vt.Want
	}{
		{name: "same scopes in another order", old: quota(corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotTerminating), q: quota(corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeBestEffort)},
		{
			name: "scopes changed",
			old:  quota(corev1.ResourceQuotaScopeBestEffort),
			q:    quota(corev1.ResourceQuotaScopeNotBestEffort),
			want: []vt.Want{vt.Invalid("spec.scopes", "field is immutable")},
		},
		{
			name: "hard limits are validated",
			old:  quota(),
			q: func() *corev1.ResourceQuota {
				q := quota()
				q.Spec.Hard[corev1.ResourceServices] = resource.MustParse("0.5")
				return q
			}(),
			want: []vt.Want{vt.Invalid("spec.hard[services]", "must be an integer")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateResourceQuotaUpdate(tt.q, tt.old), tt.want...)
		})
	}
}

func TestValidateResourceQuotaStatusUpdate(t *testing.T) {
	old := quota()
	q := quota()
	q.Status.Used = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3"), "widgets": resource.MustParse("1")}
	vt.Expect(t, ValidateResourceQuotaStatusUpdate(q, old),
		vt.Invalid("status.used[widgets]", "must be a standard resource type or fully qualified"),
		vt.Invalid("status.used[widgets]", "must be a standard resource for quota"))

	q.ResourceVersion = ""
	q.Status.Used = nil
	vt.Expect(t, ValidateResourceQuotaStatusUpdate(q, old),
		vt.Required("resourceVersion", ""), vt.Invalid("metadata.resourceVersion", "must be specified for an update"))
}
