package node

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func runtimeClass(mutate func(*nodev1.RuntimeClass)) *nodev1.RuntimeClass {
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor", ResourceVersion: "1"}, Handler: "runsc"}
	if mutate != nil {
		mutate(rc)
	}
	return rc
}

func TestValidateRuntimeClass(t *testing.T) {
	tests := []struct {
		name string
		rc   *nodev1.RuntimeClass
		want []vt.Want
	}{
		{name: "handler only", rc: runtimeClass(nil)},
		{name: "overhead and scheduling", rc: runtimeClass(func(rc *nodev1.RuntimeClass) {
			rc.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("120Mi"),
				"example.com/gpu": resource.MustParse("1"),
			}}
			rc.Scheduling = &nodev1.Scheduling{
				NodeSelector: map[string]string{"sandbox": "gvisor"},
				Tolerations: []corev1.Toleration{
					{Key: "sandbox", Operator: corev1.TolerationOpEqual, Value: "gvisor", Effect: corev1.TaintEffectNoSchedule},
					{Operator: corev1.TolerationOpExists},
					{Key: "x", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](5)},
				},
			}
		})},
		{name: "unqualified finalizer is fine here", rc: runtimeClass(func(rc *nodev1.RuntimeClass) { rc.Finalizers = []string{"cleanup"} })},
		{
			name: "handler must be a DNS label",
			rc:   runtimeClass(func(rc *nodev1.RuntimeClass) { rc.Handler = "run.sc" }),
			want: []vt.Want{vt.Invalid("handler", "must not contain dots")},
		},
		{
			name: "empty handler",
			rc:   runtimeClass(func(rc *nodev1.RuntimeClass) { rc.Handler = "" }),
			want: []vt.Want{vt.Invalid("handler", "a lowercase RFC 1123 label")},
		},
		{
			name: "overhead",
			rc: runtimeClass(func(rc *nodev1.RuntimeClass) {
				rc.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{
					corev1.ResourceCPU:   resource.MustParse("-1"),
					"pods":               resource.MustParse("1"),
					"disk":               resource.MustParse("1"),
					"example.com/gpu":    resource.MustParse("500m"),
					"hugepages-2Mi":      resource.MustParse("2Mi"),
					"kubernetes.io/fast": resource.MustParse("1"),
				}}
			}),
			want: []vt.Want{
				vt.Invalid("overhead.limits[cpu]", "must be greater than or equal to 0"),
				vt.Invalid("overhead.limits[pods]", "must be a standard resource for containers"),
				vt.Invalid("overhead.limits[disk]", "must be a standard resource type or fully qualified"),
				vt.Invalid("overhead.limits[example.com/gpu]", "must be an integer"),
			},
		},
		{
			name: "huge pages need cpu or memory",
			rc: runtimeClass(func(rc *nodev1.RuntimeClass) {
				rc.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{"hugepages-2Mi": resource.MustParse("2Mi")}}
			}),
			want: []vt.Want{vt.Forbidden("overhead", "HugePages require cpu or memory")},
		},
		{
			name: "scheduling",
			rc: runtimeClass(func(rc *nodev1.RuntimeClass) {
				rc.Scheduling = &nodev1.Scheduling{
					NodeSelector: map[string]string{"bad key!": "v"},
					Tolerations: []corev1.Toleration{
						{Operator: corev1.TolerationOpEqual, Value: "v"},
						{Key: "a", Operator: corev1.TolerationOpExists, Value: "v"},
						{Key: "a", Operator: "In"},
						{Key: "a", Operator: corev1.TolerationOpLt, Value: "5"},
						{Key: "a", Effect: "Evict", TolerationSeconds: ptr.To[int64](1)},
						{Key: "a", Value: "not valid!"},
						{Key: "dup", Operator: corev1.TolerationOpExists},
						{Key: "dup", Operator: corev1.TolerationOpExists, TolerationSeconds: ptr.To[int64](1), Effect: corev1.TaintEffectNoSchedule},
						{Key: "dup", Operator: corev1.TolerationOpExists},
					},
				}
			}),
			want: []vt.Want{
				vt.Invalid("scheduling.nodeSelector", "name part must consist of"),
				vt.Invalid("scheduling.tolerations[0].operator", "operator must be Exists when `key` is empty"),
				vt.Invalid("scheduling.tolerations[1].operator", "value must be empty when `operator` is 'Exists'"),
				vt.NotSupported("scheduling.tolerations[2].operator", `supported values: "Equal", "Exists"`),
				vt.NotSupported("scheduling.tolerations[3].operator", `supported values: "Equal", "Exists", "Lt", "Gt"`),
				vt.Invalid("scheduling.tolerations[4].effect", "effect must be 'NoExecute' when `tolerationSeconds` is set"),
				vt.NotSupported("scheduling.tolerations[4].effect", `supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`),
				vt.Invalid("scheduling.tolerations[5].operator", "a valid label must be an empty string or consist of"),
				vt.Invalid("scheduling.tolerations[7].effect", "effect must be 'NoExecute'"),
				{Type: "FieldValueDuplicate", Field: "scheduling.tolerations[8]"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateRuntimeClass(tt.rc), tt.want...)
		})
	}
}

func TestValidateRuntimeClassUpdate(t *testing.T) {
	old := runtimeClass(nil)
	vt.Expect(t, ValidateRuntimeClassUpdate(runtimeClass(func(rc *nodev1.RuntimeClass) {
		rc.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"a": "b"}}
	}), old))
	vt.Expect(t, ValidateRuntimeClassUpdate(runtimeClass(func(rc *nodev1.RuntimeClass) { rc.Handler = "kata" }), old),
		vt.Invalid("handler", "field is immutable"))
}
