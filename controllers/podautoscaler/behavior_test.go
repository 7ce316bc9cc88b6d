package podautoscaler

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

func TestNormalizeWithoutBehavior(t *testing.T) {
	clk := &clock{now: t0}
	h := NewHistory(clk.Now, 5*time.Minute)
	h.Init("k", 5)
	// Scale down is held at the highest recommendation in the window.
	got, l := h.Normalize("k", 5, 2, 1, 10)
	if got != 5 || l.StabilizedReason != "ScaleDownStabilized" {
		t.Fatalf("got %d %+v, want 5 ScaleDownStabilized", got, l)
	}
	clk.advance(6 * time.Minute)
	got, l = h.Normalize("k", 5, 2, 1, 10)
	if got != 2 || l.StabilizedReason != "ReadyForNewScale" || l.Limited {
		t.Fatalf("after window: got %d %+v, want 2", got, l)
	}
	// Scale up is limited to max(2*current, 4) and to maxReplicas.
	got, l = h.Normalize("k", 2, 20, 1, 10)
	if got != 4 || l.LimitReason != "ScaleUpLimit" || !l.Limited {
		t.Fatalf("scale-up limit: got %d %+v", got, l)
	}
	got, l = h.Normalize("k", 8, 20, 1, 10)
	if got != 10 || l.LimitReason != "TooManyReplicas" {
		t.Fatalf("max: got %d %+v", got, l)
	}
	// A key with no history: nothing stabilizes, minReplicas applies.
	got, l = h.Normalize("m", 8, 0, 3, 10)
	if got != 3 || l.LimitReason != "TooFewReplicas" || !l.Limited {
		t.Fatalf("min: got %d %+v", got, l)
	}
}

func TestNormalizeWithBehavior(t *testing.T) {
	pods := func(v, period int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: v, PeriodSeconds: period}
	}
	percent := func(v, period int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: v, PeriodSeconds: period}
	}
	cases := []struct {
		name            string
		b               *autoscalingv2.HorizontalPodAutoscalerBehavior
		current, desire int32
		want            int32
		reason          string
	}{
		{name: "default up policy: max(+4, +100%)", b: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, current: 10, desire: 50, want: 20, reason: "ScaleUpLimit"},
		{name: "pods policy", b: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{pods(2, 60)}}}, current: 3, desire: 9, want: 5, reason: "ScaleUpLimit"},
		{name: "min select", b: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
			SelectPolicy: ptr.To(autoscalingv2.MinChangePolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{pods(5, 60), percent(50, 60)}}}, current: 4, desire: 20, want: 6, reason: "ScaleUpLimit"},
		{name: "disabled up", b: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect)}}, current: 4, desire: 8, want: 4, reason: "ScaleUpLimit"},
		{name: "down percent", b: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](0), Policies: []autoscalingv2.HPAScalingPolicy{percent(50, 60)}}}, current: 10, desire: 1, want: 5, reason: "ScaleDownLimit"},
		{name: "down to min", b: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0)}}, current: 10, desire: 1, want: 2, reason: "TooFewReplicas"},
		{name: "within range", b: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, current: 4, desire: 6, want: 6, reason: "DesiredWithinRange"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{now: t0}
			h := NewHistory(clk.Now, 5*time.Minute)
			got, l := h.NormalizeWithBehavior("k", c.b, c.current, c.desire, 2, 100)
			if got != c.want || l.LimitReason != c.reason {
				t.Fatalf("got %d %s, want %d %s", got, l.LimitReason, c.want, c.reason)
			}
		})
	}
}

func TestBehaviorRateUsesRecentEvents(t *testing.T) {
	clk := &clock{now: t0}
	h := NewHistory(clk.Now, 5*time.Minute)
	b := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 60}},
	}}
	got, _ := h.NormalizeWithBehavior("k", b, 2, 20, 1, 100)
	if got != 6 {
		t.Fatalf("first step %d, want 6", got)
	}
	h.RecordScale("k", b, 2, 6)
	clk.advance(10 * time.Second)
	// Within the period the 4 pods are used up: no further growth.
	if got, l := h.NormalizeWithBehavior("k", b, 6, 20, 1, 100); got != 6 || l.LimitReason != "ScaleUpLimit" {
		t.Fatalf("within period %d %+v, want 6", got, l)
	}
	clk.advance(time.Minute)
	if got, _ := h.NormalizeWithBehavior("k", b, 6, 20, 1, 100); got != 10 {
		t.Fatalf("next period %d, want 10", got)
	}
}

func TestScaleDownStabilizationWithBehavior(t *testing.T) {
	clk := &clock{now: t0}
	h := NewHistory(clk.Now, 5*time.Minute)
	b := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)}}
	h.NormalizeWithBehavior("k", b, 8, 8, 1, 10)
	clk.advance(10 * time.Second)
	got, l := h.NormalizeWithBehavior("k", b, 8, 3, 1, 10)
	if got != 8 || l.StabilizedReason != "ScaleDownStabilized" {
		t.Fatalf("got %d %+v, want held at 8", got, l)
	}
	clk.advance(61 * time.Second)
	if got, _ := h.NormalizeWithBehavior("k", b, 8, 3, 1, 10); got != 3 {
		t.Fatalf("after window got %d, want 3", got)
	}
}

func TestSelectorsControlling(t *testing.T) {
	var s Selectors
	web := labels.SelectorFromSet(labels.Set{"app": "web"})
	all := labels.Everything()
	s.Put("ns/a", "ns", web)
	s.Put("ns/b", "other", all)
	pods := []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Labels: map[string]string{"app": "web"}}}}
	if got := s.Controlling(pods); len(got) != 1 || got[0] != "ns/a" {
		t.Fatalf("Controlling = %v, want [ns/a]", got)
	}
	s.Put("ns/c", "ns", all)
	if got := s.Controlling(pods); len(got) != 2 {
		t.Fatalf("Controlling = %v, want two HPAs", got)
	}
	s.Forget("ns/c")
	if got := s.Controlling(pods); len(got) != 1 {
		t.Fatalf("after Forget: %v", got)
	}
}
