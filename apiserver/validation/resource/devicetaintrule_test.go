package resource

import (
	"strings"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func taintRule(mutate func(*resourcev1.DeviceTaintRule)) *resourcev1.DeviceTaintRule {
	r := &resourcev1.DeviceTaintRule{
		ObjectMeta: metav1.ObjectMeta{Name: "maintenance", ResourceVersion: "1"},
		Spec: resourcev1.DeviceTaintRuleSpec{
			DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: ptr.To("gpu.example.com"), Pool: ptr.To("node-1"), Device: ptr.To("gpu-0")},
			Taint:          resourcev1.DeviceTaint{Key: "example.com/maintenance", Value: "planned", Effect: resourcev1.DeviceTaintEffectNoExecute},
		},
	}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func TestValidateDeviceTaintRule(t *testing.T) {
	tests := []struct {
		name string
		rule *resourcev1.DeviceTaintRule
		want []vt.Want
	}{
		{name: "valid", rule: taintRule(nil)},
		{name: "no selector", rule: taintRule(func(r *resourcev1.DeviceTaintRule) { r.Spec.DeviceSelector = nil })},
		{name: "empty selector, None effect, no value", rule: taintRule(func(r *resourcev1.DeviceTaintRule) {
			r.Spec.DeviceSelector = &resourcev1.DeviceTaintSelector{}
			r.Spec.Taint.Value, r.Spec.Taint.Effect = "", resourcev1.DeviceTaintEffectNone
		})},
		{name: "bad name", rule: taintRule(func(r *resourcev1.DeviceTaintRule) { r.Name = "Bad_Name" }),
			want: []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
		{name: "bad selector", rule: taintRule(func(r *resourcev1.DeviceTaintRule) {
			r.Spec.DeviceSelector = &resourcev1.DeviceTaintSelector{Driver: ptr.To(""), Pool: ptr.To("a/Bad"), Device: ptr.To("gpu.0")}
		}), want: []vt.Want{
			vt.Required("spec.deviceSelector.driver", ""),
			vt.Invalid("spec.deviceSelector.pool", "a lowercase RFC 1123 subdomain"),
			vt.Invalid("spec.deviceSelector.device", "must not contain dots"),
		}},
		{name: "long driver", rule: taintRule(func(r *resourcev1.DeviceTaintRule) {
			r.Spec.DeviceSelector.Driver = ptr.To(strings.Repeat("a", 64) + ".example.com")
		}), want: []vt.Want{vt.TooLong("spec.deviceSelector.driver", "")}},
		{name: "taint without key and effect", rule: taintRule(func(r *resourcev1.DeviceTaintRule) {
			r.Spec.Taint = resourcev1.DeviceTaint{}
		}), want: []vt.Want{
			vt.Invalid("spec.taint.key", "name part must be non-empty"),
			vt.Invalid("spec.taint.key", "name part must consist of alphanumeric characters"),
			vt.Required("spec.taint.effect", ""),
		}},
		{name: "bad value", rule: taintRule(func(r *resourcev1.DeviceTaintRule) { r.Spec.Taint.Value = "not a value" }),
			want: []vt.Want{vt.Invalid("spec.taint.value", "a valid label must be an empty string or consist of alphanumeric characters")}},
		{name: "node-only effect", rule: taintRule(func(r *resourcev1.DeviceTaintRule) { r.Spec.Taint.Effect = "PreferNoSchedule" }),
			want: []vt.Want{vt.NotSupported("spec.taint.effect", `supported values: "NoExecute", "NoSchedule", "None"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateDeviceTaintRule(tt.rule), tt.want...)
		})
	}
}

func TestValidateDeviceTaintRuleUpdate(t *testing.T) {
	// Stored by a release with an effect this one does not know.
	future := taintRule(func(r *resourcev1.DeviceTaintRule) { r.Spec.Taint.Effect = "NoExecuteWithPodDisruptionBudget" })
	tests := []struct {
		name     string
		old, new *resourcev1.DeviceTaintRule
		want     []vt.Want
	}{
		{name: "change effect", old: taintRule(nil), new: taintRule(func(r *resourcev1.DeviceTaintRule) { r.Spec.Taint.Effect = resourcev1.DeviceTaintEffectNone })},
		{name: "unknown stored effect kept", old: future, new: taintRule(func(r *resourcev1.DeviceTaintRule) {
			r.Spec.Taint.Effect = future.Spec.Taint.Effect
			r.Spec.Taint.Value = "other"
		})},
		{name: "unknown effect set", old: taintRule(nil), new: future,
			want: []vt.Want{vt.NotSupported("spec.taint.effect", "supported values")}},
		{name: "selector still checked", old: taintRule(nil), new: taintRule(func(r *resourcev1.DeviceTaintRule) { r.Spec.DeviceSelector.Device = ptr.To("GPU") }),
			want: []vt.Want{vt.Invalid("spec.deviceSelector.device", "a lowercase RFC 1123 label")}},
		{name: "rename", old: taintRule(nil), new: taintRule(func(r *resourcev1.DeviceTaintRule) { r.Name = "other" }),
			want: []vt.Want{vt.Invalid("metadata.name", "field is immutable")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateDeviceTaintRuleUpdate(tt.new, tt.old), tt.want...)
		})
	}
}

func TestValidateDeviceTaintRuleStatusUpdate(t *testing.T) {
	cond := func(typ string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: "Evicting", LastTransitionTime: metav1.Now()}
	}
	var nine []metav1.Condition
	for i := range 9 {
		nine = append(nine, cond("C"+strings.Repeat("x", i)))
	}
	tests := []struct {
		name       string
		conditions []metav1.Condition
		want       []vt.Want
	}{
		{name: "eviction in progress", conditions: []metav1.Condition{cond(resourcev1.DeviceTaintConditionEvictionInProgress)}},
		{name: "bad condition", conditions: []metav1.Condition{{Type: "EvictionInProgress", Status: "Maybe", Reason: "x", LastTransitionTime: metav1.Now()}},
			want: []vt.Want{vt.NotSupported("status.conditions[0].status", "")}},
		{name: "too many", conditions: nine, want: []vt.Want{{Type: "FieldValueTooMany", Field: "status.conditions", Detail: "must have at most 8 items"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := taintRule(func(r *resourcev1.DeviceTaintRule) { r.Status.Conditions = tt.conditions })
			vt.Expect(t, ValidateDeviceTaintRuleStatusUpdate(r, taintRule(nil)), tt.want...)
		})
	}
}
