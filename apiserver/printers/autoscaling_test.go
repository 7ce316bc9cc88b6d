package printers

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestHorizontalPodAutoscalerRows(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	hpa := func(metrics []autoscalingv2.MetricSpec, current []autoscalingv2.MetricStatus) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: objMeta("web", day),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
				MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Metrics: metrics},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: current},
		}
	}
	row := func(targets string) []any {
		return []any{"web", "Deployment/web", targets, "2", int64(10), int64(3), "24h"}
	}
	cpu := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}
	cpuNow := autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
		Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](45)}}}
	memory := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceMemory, Container: "app",
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("512Mi")}}}
	pods := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: q("1k")}}}
	podsNow := autoscalingv2.MetricStatus{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Current: autoscalingv2.MetricValueStatus{AverageValue: q("800")}}}
	external := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Target: autoscalingv2.MetricTarget{Value: q("30")}}}
	externalNow := autoscalingv2.MetricStatus{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Current: autoscalingv2.MetricValueStatus{Value: q("12")}}}
	object := autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: q("2")}}}
	noTarget := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU}}

	testRows(t, schema.GroupResource{Group: "autoscaling", Resource: "horizontalpodautoscalers"}, []rowCase{
		{name: "no metrics", obj: hpa(nil, nil), cells: row("<none>")},
		{name: "cpu utilization", obj: hpa([]autoscalingv2.MetricSpec{cpu}, []autoscalingv2.MetricStatus{cpuNow}), cells: row("cpu: 45%/70%")},
		{name: "not reported yet", obj: hpa([]autoscalingv2.MetricSpec{cpu, memory}, nil), cells: row("cpu: <unknown>/70%, memory: <unknown>/512Mi")},
		{name: "pods and external", obj: hpa([]autoscalingv2.MetricSpec{pods, external}, []autoscalingv2.MetricStatus{podsNow, externalNow}), cells: row("800/1k, 12/30")},
		{name: "object average and no target", obj: hpa([]autoscalingv2.MetricSpec{object, noTarget}, nil), cells: row("<unknown>/2 (avg), cpu: <unknown>/<auto>")},
		{name: "more than two", obj: hpa([]autoscalingv2.MetricSpec{cpu, pods, external, object}, []autoscalingv2.MetricStatus{cpuNow}), cells: row("cpu: 45%/70%, <unknown>/1k + 2 more...")},
		{name: "unknown type", obj: hpa([]autoscalingv2.MetricSpec{{Type: "Bogus"}}, nil), cells: row("<unknown type>")},
		{
			name: "autoscaling/v1 with a CPU target",
			obj: &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objMeta("web", day),
				Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
					MinReplicas: ptr.To[int32](2), MaxReplicas: 10, TargetCPUUtilizationPercentage: ptr.To[int32](60)},
				Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentCPUUtilizationPercentage: ptr.To[int32](75)}},
			cells: row("cpu: 75%/60%"),
		},
		{
			name: "autoscaling/v1 defaults",
			obj: &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objMeta("web", day),
				Spec:   autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 10},
				Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 3}},
			cells: []any{"web", "Deployment/web", "cpu: <unknown>/80%", "<unset>", int64(10), int64(3), "24h"},
		},
	})
}
