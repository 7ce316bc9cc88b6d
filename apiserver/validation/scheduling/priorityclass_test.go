package scheduling

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func priorityClass(name string, value int32) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{
		ObjectMeta:       metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
		Value:            value,
		PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority),
	}
}

func TestValidatePriorityClass(t *testing.T) {
	tests := []struct {
		name string
		pc   *schedulingv1.PriorityClass
		want []vt.Want
	}{
		{name: "user class", pc: priorityClass("high", 1000)},
		{name: "highest user value", pc: priorityClass("top", HighestUserDefinablePriority)},
		{name: "negative value", pc: priorityClass("low", -10)},
		{name: "system-node-critical", pc: priorityClass(SystemNodeCritical, 2000001000)},
		{name: "system-cluster-critical", pc: priorityClass(SystemClusterCritical, 2000000000)},
		{name: "no preemption policy", pc: func() *schedulingv1.PriorityClass {
			pc := priorityClass("a", 1)
			pc.PreemptionPolicy = nil
			return pc
		}()},
		{
			name: "user value too high",
			pc:   priorityClass("too-high", HighestUserDefinablePriority+1),
			want: []vt.Want{vt.Forbidden("value", "maximum allowed value of a user defined priority is 1000000000")},
		},
		{
			name: "unknown system class",
			pc:   priorityClass("system-mine", 10),
			want: []vt.Want{vt.Forbidden("metadata.name", "priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class")},
		},
		{
			name: "system class with the wrong value",
			pc:   priorityClass(SystemNodeCritical, 2000000000),
			want: []vt.Want{vt.Forbidden("metadata.name", "error: value of system-node-critical PriorityClass must be 2000001000")},
		},
		{
			name: "system class as global default",
			pc: func() *schedulingv1.PriorityClass {
				pc := priorityClass(SystemClusterCritical, SystemCriticalPriority)
				pc.GlobalDefault = true
				return pc
			}(),
			want: []vt.Want{vt.Forbidden("metadata.name", "error: globalDefault of system-cluster-critical PriorityClass must be false")},
		},
		{
			name: "system prefix skips the value limit",
			pc:   priorityClass("system-huge", 2100000000),
			want: []vt.Want{vt.Forbidden("metadata.name", "is not a known system priority class")},
		},
		{
			name: "empty preemption policy",
			pc: func() *schedulingv1.PriorityClass {
				pc := priorityClass("a", 1)
				pc.PreemptionPolicy = ptr.To(corev1.PreemptionPolicy(""))
				return pc
			}(),
			want: []vt.Want{vt.Required("preemptionPolicy", "")},
		},
		{
			name: "unknown preemption policy",
			pc: func() *schedulingv1.PriorityClass {
				pc := priorityClass("a", 1)
				pc.PreemptionPolicy = ptr.To(corev1.PreemptionPolicy("Always"))
				return pc
			}(),
			want: []vt.Want{vt.NotSupported("preemptionPolicy", `supported values: "PreemptLowerPriority", "Never"`)},
		},
		{
			name: "name and finalizers",
			pc: func() *schedulingv1.PriorityClass {
				pc := priorityClass("Not_Valid", 1)
				pc.Finalizers = []string{"cleanup"}
				return pc
			}(),
			want: []vt.Want{
				vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain"),
				vt.Invalid("metadata.finalizers[0]", "name is neither a standard finalizer name nor is it fully qualified"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidatePriorityClass(tt.pc), tt.want...)
		})
	}
}

func TestValidatePriorityClassUpdate(t *testing.T) {
	old := priorityClass("high", 1000)
	tests := []struct {
		name string
		pc   *schedulingv1.PriorityClass
		want []vt.Want
	}{
		{name: "description and globalDefault may change", pc: func() *schedulingv1.PriorityClass {
			pc := priorityClass("high", 1000)
			pc.Description, pc.GlobalDefault = "new", true
			return pc
		}()},
		{
			name: "value is immutable",
			pc:   priorityClass("high", 2000),
			want: []vt.Want{vt.Forbidden("value", "may not be changed in an update.")},
		},
		{
			name: "preemption policy is immutable",
			pc: func() *schedulingv1.PriorityClass {
				pc := priorityClass("high", 1000)
				pc.PreemptionPolicy = ptr.To(corev1.PreemptNever)
				return pc
			}(),
			want: []vt.Want{vt.Invalid("preemptionPolicy", "field is immutable")},
		},
		{
			name: "name is immutable",
			pc:   priorityClass("higher", 1000),
			want: []vt.Want{vt.Invalid("metadata.name", "field is immutable")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidatePriorityClassUpdate(tt.pc, old), tt.want...)
		})
	}
}

func TestSystemPriorityClassesAreValid(t *testing.T) {
	for _, pc := range SystemPriorityClasses() {
		pc.PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
		vt.Expect(t, ValidatePriorityClass(pc))
	}
}
