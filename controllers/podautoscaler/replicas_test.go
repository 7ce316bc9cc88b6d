package podautoscaler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// runningPod started long ago, ready since start, requesting cpu.
func runningPod(name, cpu string) *corev1.Pod {
	start := metav1.NewTime(t0.Add(-time.Hour))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("100Mi")},
		}}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, StartTime: &start,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}},
		},
	}
}

func withPhase(p *corev1.Pod, phase corev1.PodPhase) *corev1.Pod { p.Status.Phase = phase; return p }

func usage(kv map[string]int64) PodMetrics {
	out := PodMetrics{}
	for k, v := range kv {
		out[k] = PodMetric{Timestamp: t0, Window: time.Minute, Value: v}
	}
	return out
}

func TestResourceReplicas(t *testing.T) {
	calc := Calculator{CPUInitializationPeriod: DefaultCPUInitializationPeriod, DelayOfInitialReadinessStatus: DefaultDelayOfInitialReadinessStatus, Now: func() time.Time { return t0 }}
	tol := Tolerances{Down: DefaultTolerance, Up: DefaultTolerance}
	cases := []struct {
		name     string
		current  int32
		target   int32
		pods     []*corev1.Pod
		metrics  PodMetrics
		want     int32
		wantUtil int32
		wantErr  bool
	}{
		{name: "scale up", current: 3, target: 50, pods: []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1"), runningPod("c", "1")},
			metrics: usage(map[string]int64{"a": 1000, "b": 1000, "c": 1000}), want: 6, wantUtil: 100},
		{name: "scale down", current: 4, target: 50, pods: []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1"), runningPod("c", "1"), runningPod("d", "1")},
			metrics: usage(map[string]int64{"a": 250, "b": 250, "c": 250, "d": 250}), want: 2, wantUtil: 25},
		{name: "within tolerance", current: 2, target: 50, pods: []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1")},
			metrics: usage(map[string]int64{"a": 540, "b": 540}), want: 2, wantUtil: 54},
		{name: "just outside tolerance", current: 2, target: 50, pods: []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1")},
			metrics: usage(map[string]int64{"a": 560, "b": 560}), want: 3, wantUtil: 56},
		{name: "missing pod assumed at request on scale down", current: 3, target: 50,
			pods:    []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1"), runningPod("c", "1")},
			metrics: usage(map[string]int64{"a": 100, "b": 100}), want: 3, wantUtil: 10}, // 1200m of 3000m: ceil(0.8*3)
		{name: "missing pod assumed idle on scale up", current: 3, target: 50,
			pods:    []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1"), runningPod("c", "1")},
			metrics: usage(map[string]int64{"a": 1000, "b": 1000}), want: 4, wantUtil: 100},
		{name: "pending pods count as idle on scale up", current: 3, target: 50,
			pods:    []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1"), withPhase(runningPod("c", "1"), corev1.PodPending)},
			metrics: usage(map[string]int64{"a": 1000, "b": 1000}), want: 4, wantUtil: 100},
		{name: "failed pods ignored", current: 2, target: 50,
			pods:    []*corev1.Pod{runningPod("a", "1"), withPhase(runningPod("b", "1"), corev1.PodFailed)},
			metrics: usage(map[string]int64{"a": 1000, "b": 5000}), want: 2, wantUtil: 100},
		{name: "no pods", current: 1, target: 50, wantErr: true},
		{name: "no metrics for any ready pod", current: 1, target: 50, pods: []*corev1.Pod{runningPod("a", "1")}, metrics: PodMetrics{}, want: 1, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, util, _, err := calc.ResourceReplicas(c.current, c.target, corev1.ResourceCPU, tol, c.pods, c.metrics, "")
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if got != c.want || util != c.wantUtil {
				t.Fatalf("replicas, utilization = %d, %d; want %d, %d", got, util, c.want, c.wantUtil)
			}
		})
	}
}

func TestResourceReplicasUnreadyCPU(t *testing.T) {
	calc := Calculator{CPUInitializationPeriod: DefaultCPUInitializationPeriod, DelayOfInitialReadinessStatus: DefaultDelayOfInitialReadinessStatus, Now: func() time.Time { return t0 }}
	young := runningPod("young", "1")
	start := metav1.NewTime(t0.Add(-time.Minute))
	young.Status.StartTime = &start
	young.Status.Conditions[0].Status = corev1.ConditionFalse
	pods := []*corev1.Pod{runningPod("a", "1"), young}
	// The initializing pod's high usage is not trusted on a scale up.
	got, _, _, err := calc.ResourceReplicas(2, 50, corev1.ResourceCPU, Tolerances{0.1, 0.1}, pods, usage(map[string]int64{"a": 1000, "young": 2000}), "")
	if err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Fatalf("replicas = %d, want 2 (a at 200%% plus the unready pod at 0%% averages 100%%: 2 pods)", got)
	}
}

func TestRawResourceReplicas(t *testing.T) {
	calc := Calculator{Now: func() time.Time { return t0 }}
	pods := []*corev1.Pod{runningPod("a", "1"), runningPod("b", "1")}
	got, avg, err := calc.RawResourceReplicas(2, 100*1024*1024*1000, corev1.ResourceMemory, Tolerances{0.1, 0.1}, pods,
		usage(map[string]int64{"a": 300 * 1024 * 1024 * 1000, "b": 100 * 1024 * 1024 * 1000}))
	if err != nil {
		t.Fatal(err)
	}
	if got != 4 || avg != 200*1024*1024*1000 {
		t.Fatalf("replicas %d avg %d, want 4 and 200Mi", got, avg)
	}
}

func TestRequestsContainer(t *testing.T) {
	p := runningPod("a", "1")
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}})
	all, err := requests([]*corev1.Pod{p}, "", corev1.ResourceCPU)
	if err != nil || all["a"] != 1500 {
		t.Fatalf("pod requests %v (%v), want 1500m", all, err)
	}
	one, err := requests([]*corev1.Pod{p}, "side", corev1.ResourceCPU)
	if err != nil || one["a"] != 500 {
		t.Fatalf("container requests %v (%v), want 500m", one, err)
	}
	if _, err := requests([]*corev1.Pod{p}, "nope", corev1.ResourceCPU); err == nil {
		t.Fatal("unknown container: want error")
	}
	if _, err := requests([]*corev1.Pod{p}, "side", corev1.ResourceMemory); err == nil {
		t.Fatal("missing request: want error")
	}
}
