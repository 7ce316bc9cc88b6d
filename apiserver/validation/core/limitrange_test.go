package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestValidateLimitRangeUpdate(t *testing.T) {
	old := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "team-a", ResourceVersion: "1"}}
	lr := old.DeepCopy()
	lr.Spec.Limits = []corev1.LimitRangeItem{{
		Type:    corev1.LimitTypeContainer,
		Min:     corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		Default: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}}
	vt.Expect(t, ValidateLimitRangeUpdate(lr, old), vt.Invalid("spec.limits[0].default[memory]", "min value 1Gi is greater than default value 512Mi"))
	vt.Expect(t, ValidateLimitRangeUpdate(old.DeepCopy(), old))
}
