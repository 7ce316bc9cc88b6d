package defaults

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// DefaultCPUUtilization is the target average CPU utilization (percent) of
// a HorizontalPodAutoscaler that names no metric.
const DefaultCPUUtilization int32 = 80

// addAutoscalingDefaults registers upstream's defaults for autoscaling/v1 and autoscaling/v2.
// An autoscaling/v1 object gets only minReplicas here; its CPU default is
// applied by the v1 → v2 conversion, which alone sees the metrics carried in
// annotations (as upstream does).
func addAutoscalingDefaults(s *runtime.Scheme) {
	addKindAndListDefaults(s, defaultHPAv2, func(l *autoscalingv2.HorizontalPodAutoscalerList) []autoscalingv2.HorizontalPodAutoscaler {
		return l.Items
	})
	addKindAndListDefaults(s, defaultHPAv1, func(l *autoscalingv1.HorizontalPodAutoscalerList) []autoscalingv1.HorizontalPodAutoscaler {
		return l.Items
	})
}

func defaultHPAv1(hpa *autoscalingv1.HorizontalPodAutoscaler) {
	if hpa.Spec.MinReplicas == nil {
		hpa.Spec.MinReplicas = ptr.To[int32](1)
	}
}

// defaultHPAv2 sets minReplicas 1, a Resource metric of 80% average CPU
// utilization when no metric is given, and, when a behavior is given, the
// unset parts of both its scaling rules (see HPAScaleUpRules and
// HPAScaleDownRules).
func defaultHPAv2(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	spec := &hpa.Spec
	if spec.MinReplicas == nil {
		spec.MinReplicas = ptr.To[int32](1)
	}
	if len(spec.Metrics) == 0 {
		spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{
					Type:               autoscalingv2.UtilizationMetricType,
					AverageUtilization: ptr.To(DefaultCPUUtilization),
				},
			},
		}}
	}
	if b := spec.Behavior; b != nil {
		b.ScaleUp = HPAScaleUpRules(b.ScaleUp)
		b.ScaleDown = HPAScaleDownRules(b.ScaleDown)
	}
}

// HPAScaleUpRules returns rules with every unset part filled as upstream
// does: no stabilization window, select policy Max, and the policies "4 pods
// or 100% per 15 seconds". The parts rules sets are kept (and shared).
func HPAScaleUpRules(rules *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	return mergeScalingRules(rules, &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0),
		SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	})
}

// HPAScaleDownRules returns rules with every unset part filled as upstream
// does: select policy Max and the policy "100% per 15 seconds". The
// stabilization window stays unset: the controller's
// --horizontal-pod-autoscaler-downscale-stabilization flag supplies it.
func HPAScaleDownRules(rules *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	return mergeScalingRules(rules, &autoscalingv2.HPAScalingRules{
		SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	})
}

// mergeScalingRules overlays the set fields of from onto defaults.
func mergeScalingRules(from, defaults *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if from == nil {
		return defaults
	}
	if from.SelectPolicy != nil {
		defaults.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		defaults.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		defaults.Policies = from.Policies
	}
	if from.Tolerance != nil {
		defaults.Tolerance = from.Tolerance
	}
	return defaults
}
