package printers

import (
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// hpaMetricsMax is how many metrics the TARGETS cell shows before
// "+ N more...".
const hpaMetricsMax = 2

// hpaDefaultCPUUtilization is the CPU target of an autoscaling/v1 HPA that
// sets none.
const hpaDefaultCPUUtilization = 80

var hpaSpecDoc = autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()

// horizontalPodAutoscalers prints autoscaling/v2 HPAs, and autoscaling/v1
// ones as their v2 form.
var horizontalPodAutoscalers = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Reference", Type: "string", Description: hpaSpecDoc["scaleTargetRef"]},
	{Name: "Targets", Type: "string", Description: hpaSpecDoc["metrics"]},
	{Name: "MinPods", Type: "string", Description: hpaSpecDoc["minReplicas"]},
	{Name: "MaxPods", Type: "string", Description: hpaSpecDoc["maxReplicas"]},
	{Name: "Replicas", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]},
	ageColumn,
}, rowsOf(hpaRow), rowsOf(hpaV1Row))

func hpaRow(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) (metav1.TableRow, error) {
	minPods := unset
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *h.Spec.MinReplicas)
	}
	return cells(h.Name, h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name, hpaTargets(h.Spec.Metrics, h.Status.CurrentMetrics),
		minPods, int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), since(h.CreationTimestamp, now))
}

// hpaV1Row prints an autoscaling/v1 HPA: its CPU target (80% when unset)
// and current CPU utilization are the one Resource metric of the v2 form.
func hpaV1Row(h *autoscalingv1.HorizontalPodAutoscaler, now time.Time) (metav1.TableRow, error) {
	v2 := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: h.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: h.Spec.ScaleTargetRef.Kind, Name: h.Spec.ScaleTargetRef.Name, APIVersion: h.Spec.ScaleTargetRef.APIVersion},
			MinReplicas:    h.Spec.MinReplicas,
			MaxReplicas:    h.Spec.MaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
					Type:               autoscalingv2.UtilizationMetricType,
					AverageUtilization: ptr.To(ptr.Deref(h.Spec.TargetCPUUtilizationPercentage, hpaDefaultCPUUtilization)),
				}},
			}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: h.Status.CurrentReplicas},
	}
	if u := h.Status.CurrentCPUUtilizationPercentage; u != nil {
		v2.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type:     autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To(*u)}},
		}}
	}
	return hpaRow(v2, now)
}

// hpaTargets is the TARGETS cell: "current/target" for each metric, with
// the status of the same index as current.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return none
	}
	list := make([]string, 0, len(specs))
	for i, spec := range specs {
		var status *autoscalingv2.MetricStatus
		if i < len(statuses) {
			status = &statuses[i]
		}
		list = append(list, hpaTarget(spec, status))
	}
	if len(list) > hpaMetricsMax {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:hpaMetricsMax], ", "), len(list)-hpaMetricsMax)
	}
	return strings.Join(list, ", ")
}

// hpaTarget prints one metric, "<unknown>" standing for a current value not
// reported (yet).
func hpaTarget(spec autoscalingv2.MetricSpec, status *autoscalingv2.MetricStatus) string {
	var current *autoscalingv2.MetricValueStatus
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		if status != nil && status.External != nil {
			current = &status.External.Current
		}
		return valueTarget(spec.External.Target, current)
	case autoscalingv2.ObjectMetricSourceType:
		if status != nil && status.Object != nil {
			current = &status.Object.Current
		}
		return valueTarget(spec.Object.Target, current)
	case autoscalingv2.PodsMetricSourceType:
		now := unknown
		if status != nil && status.Pods != nil {
			now = status.Pods.Current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s", now, spec.Pods.Target.AverageValue.String())
	case autoscalingv2.ResourceMetricSourceType:
		if status != nil && status.Resource != nil {
			current = &status.Resource.Current
		}
		return resourceTarget(spec.Resource.Name, spec.Resource.Target, current)
	case autoscalingv2.ContainerResourceMetricSourceType:
		if status != nil && status.ContainerResource != nil {
			current = &status.ContainerResource.Current
		}
		return resourceTarget(spec.ContainerResource.Name, spec.ContainerResource.Target, current)
	default:
		return "<unknown type>"
	}
}

// valueTarget prints an External or Object metric: "current/target (avg)"
// for an average value target, "current/target" for a value target.
func valueTarget(target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	now := unknown
	if target.AverageValue != nil {
		if current != nil && current.AverageValue != nil {
			now = current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s (avg)", now, target.AverageValue.String())
	}
	if current != nil {
		now = current.Value.String()
	}
	return fmt.Sprintf("%s/%s", now, target.Value.String())
}

// resourceTarget prints a Resource or ContainerResource metric:
// "name: current/target" as average values, or as utilization percentages
// ("<auto>" without a target).
func resourceTarget(name corev1.ResourceName, target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	now := unknown
	if target.AverageValue != nil {
		if current != nil {
			now = current.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, now, target.AverageValue.String())
	}
	if current != nil && current.AverageUtilization != nil {
		now = fmt.Sprintf("%d%%", *current.AverageUtilization)
	}
	want := "<auto>"
	if target.AverageUtilization != nil {
		want = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, now, want)
}
