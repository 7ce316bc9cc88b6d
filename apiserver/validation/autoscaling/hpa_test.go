package autoscaling

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func hpa(mutate func(*autoscalingv2.HorizontalPodAutoscaler)) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](1),
			MaxReplicas:    5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
			}}},
		},
	}
	if mutate != nil {
		mutate(h)
	}
	return h
}

func TestValidateHorizontalPodAutoscaler(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*autoscalingv2.HorizontalPodAutoscaler)
		want   []vt.Want
	}{
		{name: "valid"},
		{name: "both utilization and value", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageValue = ptr.To(resource.MustParse("100m"))
		}, want: []vt.Want{vt.Forbidden("spec.metrics[0].resource.target.averageValue", "may not set both a target raw value and a target utilization")}},
		{name: "zero utilization", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageUtilization = ptr.To[int32](0)
		}, want: []vt.Want{vt.Invalid("spec.metrics[0].resource.target.averageUtilization", "must be greater than 0")}},
		{name: "unknown metric type", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Type = "Magic" }, want: []vt.Want{
			vt.NotSupported("spec.metrics[0].type", `supported values: "ContainerResource", "External", "Object", "Pods", "Resource"`),
			vt.NotSupported("spec.metrics[0].type", `supported values: "ContainerResource", "External", "Object", "Pods", "Resource"`),
		}},
		{name: "two sources", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Pods = &autoscalingv2.PodsMetricSource{}
		}, want: []vt.Want{
			vt.Forbidden("spec.metrics[0].pods", "must populate the given metric source only"),
			// Upstream checks in depth only the first source in its order
			// (object, external, pods, resource, containerResource).
			vt.Required("spec.metrics[0].pods.metric.name", "must specify a metric name"),
			vt.Required("spec.metrics[0].pods.target.type", "must specify a metric target type"),
			vt.Invalid("spec.metrics[0].pods.target.type", "must be either Utilization, Value, or AverageValue"),
			vt.Required("spec.metrics[0].pods.target.averageValue", "must specify a positive target averageValue"),
		}},
		{name: "pods source", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType},
			}}}
		}, want: []vt.Want{
			vt.Required("spec.metrics[0].pods.metric.name", "must specify a metric name"),
			vt.Required("spec.metrics[0].pods.target.averageValue", "must specify a positive target averageValue"),
		}},
		{name: "container resource", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name: "pods", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)},
			}}}
		}, want: []vt.Want{
			vt.Invalid("spec.metrics[0].containerResource.name", "must be a standard resource for containers"),
			vt.Required("spec.metrics[0].containerResource.container", "must specify a container"),
		}},
		{name: "object without a target", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "a/b/c", Kind: "..", Name: "x"},
				Metric:          autoscalingv2.MetricIdentifier{Name: "qps"},
				Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType},
			}}}
		}, want: []vt.Want{
			vt.Invalid("spec.metrics[0].object.describedObject.apiVersion", "unexpected GroupVersion string: a/b/c"),
			vt.Invalid("spec.metrics[0].object.describedObject.kind", "may not be '..'"),
			vt.Required("spec.metrics[0].object.target.averageValue", "must set either a target value or averageValue"),
		}},
		{name: "negative max replicas", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = -1 }, want: []vt.Want{
			vt.Invalid("spec.maxReplicas", "must be greater than or equal to 1"),
			vt.Invalid("spec.maxReplicas", "must be greater than or equal to `minReplicas`"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateHorizontalPodAutoscaler(hpa(tt.mutate)), tt.want...)
		})
	}
}

func TestValidateHorizontalPodAutoscalerUpdate(t *testing.T) {
	// A stored object with minReplicas 0 and an unqualified target keeps
	// both allowances while they do not change.
	old := hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.MinReplicas = ptr.To[int32](0)
		h.Spec.ScaleTargetRef.APIVersion = "v1"
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "x/y/z", Kind: "Service", Name: "web"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "qps"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr.To(resource.MustParse("10"))},
		}}}
	})
	updated := old.DeepCopy()
	updated.Spec.MaxReplicas = 9
	vt.Expect(t, ValidateHorizontalPodAutoscalerUpdate(updated, old))
	vt.Expect(t, ValidateHorizontalPodAutoscaler(old),
		vt.Invalid("spec.minReplicas", "must be greater than or equal to 1"),
		vt.Invalid("spec.scaleTargetRef.apiVersion", "apiVersion must specify API group"),
		vt.Invalid("spec.metrics[0].object.describedObject.apiVersion", "unexpected GroupVersion string: x/y/z"),
	)
	retargeted := old.DeepCopy()
	retargeted.Spec.ScaleTargetRef.Kind = "StatefulSet"
	vt.Expect(t, ValidateHorizontalPodAutoscalerUpdate(retargeted, old), vt.Invalid("spec.scaleTargetRef.apiVersion", "apiVersion must specify API group"))

	status := old.DeepCopy()
	status.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: -1, DesiredReplicas: -2}
	vt.Expect(t, ValidateHorizontalPodAutoscalerStatusUpdate(status, old),
		vt.Invalid("status.currentReplicas", "must be greater than or equal to 0"),
		vt.Invalid("status.desiredReplicas", "must be greater than or equal to 0"),
	)
}
