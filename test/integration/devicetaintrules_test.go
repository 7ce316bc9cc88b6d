package integration

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestDeviceTaintRules creates a rule (timeAdded defaulted, generation 1,
// status dropped), changes its effect (timeAdded and generation move),
// writes conditions through /status only, prints it through the Table API
// and refuses invalid rules with upstream's field paths and messages.
func TestDeviceTaintRules(t *testing.T) {
	ctx := context.Background()
	api := server.Client().ResourceV1().DeviceTaintRules()
	rule := &resourcev1.DeviceTaintRule{
		ObjectMeta: metav1.ObjectMeta{Name: "dtrtest-maintenance"},
		Spec: resourcev1.DeviceTaintRuleSpec{
			DeviceSelector: &resourcev1.DeviceTaintSelector{Driver: ptr.To("gpu.example.com"), Pool: ptr.To("dtrtest-node")},
			Taint:          resourcev1.DeviceTaint{Key: "example.com/maintenance", Value: "planned", Effect: resourcev1.DeviceTaintEffectNoSchedule},
		},
		Status: resourcev1.DeviceTaintRuleStatus{Conditions: []metav1.Condition{{Type: "EvictionInProgress", Status: metav1.ConditionTrue, Reason: "Forged", LastTransitionTime: metav1.Now()}}},
	}
	created, err := api.Create(ctx, rule, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = api.Delete(context.Background(), rule.Name, metav1.DeleteOptions{}) })
	if created.Spec.Taint.TimeAdded == nil || created.Generation != 1 || len(created.Status.Conditions) != 0 {
		t.Fatalf("created: timeAdded %v, generation %d, status %+v; want a time, 1, empty", created.Spec.Taint.TimeAdded, created.Generation, created.Status)
	}

	// A stale time is replaced when the effect changes and the client kept
	// the old time; the generation counts the spec change.
	stale := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	created.Spec.Taint.TimeAdded = &stale
	kept, err := api.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("set timeAdded: %v", err)
	}
	if !kept.Spec.Taint.TimeAdded.Equal(&stale) || kept.Generation != 2 {
		t.Fatalf("timeAdded %v generation %d, want the client's %v and 2", kept.Spec.Taint.TimeAdded, kept.Generation, stale)
	}
	kept.Spec.Taint.Effect = resourcev1.DeviceTaintEffectNoExecute
	evicting, err := api.Update(ctx, kept, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("change effect: %v", err)
	}
	if evicting.Spec.Taint.TimeAdded.Equal(&stale) || evicting.Generation != 3 {
		t.Errorf("after the effect change: timeAdded %v generation %d, want a new time and 3", evicting.Spec.Taint.TimeAdded, evicting.Generation)
	}

	// Status only through /status, which ignores the spec.
	evicting.Status.Conditions = []metav1.Condition{{Type: resourcev1.DeviceTaintConditionEvictionInProgress, Status: metav1.ConditionTrue,
		Reason: "PodsPendingEviction", Message: "2 pods", LastTransitionTime: metav1.Now(), ObservedGeneration: evicting.Generation}}
	evicting.Spec.Taint.Value = "ignored"
	withStatus, err := api.UpdateStatus(ctx, evicting, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if len(withStatus.Status.Conditions) != 1 || withStatus.Spec.Taint.Value != "planned" || withStatus.Generation != 3 {
		t.Errorf("after /status: conditions %d, value %q, generation %d; want 1, planned, 3", len(withStatus.Status.Conditions), withStatus.Spec.Taint.Value, withStatus.Generation)
	}
	withStatus.Status.Conditions = nil
	withStatus.Labels = map[string]string{"a": "b"}
	relabelled, err := api.Update(ctx, withStatus, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("relabel: %v", err)
	}
	if len(relabelled.Status.Conditions) != 1 || relabelled.Generation != 3 {
		t.Errorf("main resource write: conditions %d generation %d, want status kept and generation 3", len(relabelled.Status.Conditions), relabelled.Generation)
	}
	many := relabelled.DeepCopy()
	for i := range 9 {
		many.Status.Conditions = append(many.Status.Conditions, metav1.Condition{Type: "Extra" + strings.Repeat("x", i), Status: metav1.ConditionFalse, Reason: "R", LastTransitionTime: metav1.Now()})
	}
	if _, err := api.UpdateStatus(ctx, many, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.conditions: Too many: 10: must have at most 8 items") {
		t.Errorf("10 conditions: err = %v, want 422 Too many", err)
	}

	t.Run("table", func(t *testing.T) {
		table := getTable(t, server.Client(), "/apis/resource.k8s.io/v1/devicetaintrules", "metadata.name=dtrtest-maintenance")
		if got, want := tableColumns(table), []string{"Name", "Key", "Value", "Effect", "TimeAdded", "Age"}; !reflect.DeepEqual(got, want) {
			t.Errorf("columns %v, want %v", got, want)
		}
		if len(table.Rows) != 1 {
			t.Fatalf("rows %+v", table.Rows)
		}
		if cells := table.Rows[0].Cells[:4]; !reflect.DeepEqual(cells, []any{"dtrtest-maintenance", "example.com/maintenance", "planned", "NoExecute"}) {
			t.Errorf("cells %v", table.Rows[0].Cells)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		tests := []struct {
			name   string
			mutate func(*resourcev1.DeviceTaintRule)
			want   []string
		}{
			{name: "node-only effect", mutate: func(r *resourcev1.DeviceTaintRule) { r.Spec.Taint.Effect = "PreferNoSchedule" },
				want: []string{`spec.taint.effect: Unsupported value: "PreferNoSchedule": supported values: "NoExecute", "NoSchedule", "None"`}},
			{name: "no key", mutate: func(r *resourcev1.DeviceTaintRule) { r.Spec.Taint.Key = "" },
				want: []string{`spec.taint.key: Invalid value: "": name part must be non-empty`}},
			{name: "bad selector", mutate: func(r *resourcev1.DeviceTaintRule) {
				r.Spec.DeviceSelector = &resourcev1.DeviceTaintSelector{Driver: ptr.To(""), Device: ptr.To("GPU")}
			}, want: []string{`spec.deviceSelector.driver: Required value`, `spec.deviceSelector.device: Invalid value: "GPU": a lowercase RFC 1123 label`}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				bad := rule.DeepCopy()
				bad.Name = "dtrtest-bad"
				tc.mutate(bad)
				_, err := api.Create(ctx, bad, metav1.CreateOptions{})
				if !apierrors.IsInvalid(err) {
					t.Fatalf("err = %v, want 422", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want %q", err, w)
					}
				}
			})
		}
	})
}
