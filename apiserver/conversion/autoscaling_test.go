package conversion

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func schemeWithConversions(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{autoscalingv1.AddToScheme, autoscalingv2.AddToScheme, AddToScheme} {
		if err := add(s); err != nil {
			t.Fatalf("build scheme: %v", err)
		}
	}
	return s
}

func qty(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

// fullHPA uses every part of autoscaling/v2 that autoscaling/v1 carries in
// annotations.
func fullHPA() *autoscalingv2.HorizontalPodAutoscaler {
	when := metav1.NewTime(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "jobs"}}
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{"team": "a"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("512Mi")}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "rps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("10")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "web"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "hits"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("2k")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "depth", Selector: sel},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("30")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceCPU, Container: "app",
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}},
				// The CPU target comes last: v1 → v2 puts it there.
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}}},
				ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.MinChangePolicySelect), Tolerance: qty("50m"),
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: ptr.To[int64](3),
			LastScaleTime:      &when,
			CurrentReplicas:    3,
			DesiredReplicas:    4,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageValue: qty("250m"), AverageUtilization: ptr.To[int32](55)}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "depth", Selector: sel}, Current: autoscalingv2.MetricValueStatus{Value: qty("12"), AverageValue: qty("4")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "web"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "hits"}, Current: autoscalingv2.MetricValueStatus{Value: qty("1500")}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: qty("8")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: corev1.ResourceCPU, Container: "app",
					Current: autoscalingv2.MetricValueStatus{AverageValue: qty("100m"), AverageUtilization: ptr.To[int32](40)}}},
			},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: when, Reason: "ReadyForNewScale", Message: "ok", ObservedGeneration: ptr.To[int64](3)},
			},
		},
	}
}

func TestHPAToV1(t *testing.T) {
	s := schemeWithConversions(t)
	v1 := &autoscalingv1.HorizontalPodAutoscaler{}
	if err := s.Convert(fullHPA(), v1, nil); err != nil {
		t.Fatalf("convert to v1: %v", err)
	}
	if got := ptr.Deref(v1.Spec.TargetCPUUtilizationPercentage, 0); got != 60 {
		t.Errorf("targetCPUUtilizationPercentage = %d, want 60", got)
	}
	if got := ptr.Deref(v1.Status.CurrentCPUUtilizationPercentage, 0); got != 55 {
		t.Errorf("currentCPUUtilizationPercentage = %d, want 55", got)
	}
	// Upstream marshals its internal behavior type, which has no JSON tags.
	wantBehavior := `{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}],"Tolerance":null},` +
		`"ScaleDown":{"StabilizationWindowSeconds":null,"SelectPolicy":"Min","Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":"50m"}}`
	if got := v1.Annotations[BehaviorSpecsAnnotation]; got != wantBehavior {
		t.Errorf("behavior annotation:\n got %s\nwant %s", got, wantBehavior)
	}
	wantConditions := `[{"type":"AbleToScale","status":"True","lastTransitionTime":"2026-03-04T05:06:07Z","reason":"ReadyForNewScale","message":"ok","observedGeneration":3}]`
	if got := v1.Annotations[ConditionsAnnotation]; got != wantConditions {
		t.Errorf("conditions annotation:\n got %s\nwant %s", got, wantConditions)
	}
	wantMetricsPrefix := `[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"512Mi"}},{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"10"}}`
	if got := v1.Annotations[MetricSpecsAnnotation]; len(got) < len(wantMetricsPrefix) || got[:len(wantMetricsPrefix)] != wantMetricsPrefix {
		t.Errorf("metrics annotation:\n got %s\nwant prefix %s", got, wantMetricsPrefix)
	}
	if _, ok := v1.Annotations[MetricStatusesAnnotation]; !ok {
		t.Error("no current-metrics annotation")
	}
	if v1.Annotations["team"] != "a" {
		t.Errorf("user annotations lost: %v", v1.Annotations)
	}
}

func TestHPARoundTripV2V1V2(t *testing.T) {
	s := schemeWithConversions(t)
	tests := map[string]*autoscalingv2.HorizontalPodAutoscaler{
		"every field": fullHPA(),
		"cpu only": {
			ObjectMeta: metav1.ObjectMeta{Name: "cpu"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptr.To[int32](1), MaxReplicas: 3,
				Metrics: []autoscalingv2.MetricSpec{fullHPA().Spec.Metrics[5]},
			},
		},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			v1 := &autoscalingv1.HorizontalPodAutoscaler{}
			if err := s.Convert(in.DeepCopy(), v1, nil); err != nil {
				t.Fatalf("convert to v1: %v", err)
			}
			back := &autoscalingv2.HorizontalPodAutoscaler{}
			if err := s.Convert(v1, back, nil); err != nil {
				t.Fatalf("convert back: %v", err)
			}
			if !equality.Semantic.DeepEqual(in, back) {
				t.Errorf("v2 → v1 → v2 changed the object (-in +back):\n%s", cmp.Diff(in, back))
			}
		})
	}
}

func TestHPARoundTripV1V2V1(t *testing.T) {
	s := schemeWithConversions(t)
	when := metav1.NewTime(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	in := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef:                 autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:                    ptr.To[int32](1),
			MaxReplicas:                    5,
			TargetCPUUtilizationPercentage: ptr.To[int32](50),
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			ObservedGeneration: ptr.To[int64](1), LastScaleTime: &when, CurrentReplicas: 2, DesiredReplicas: 2,
			CurrentCPUUtilizationPercentage: ptr.To[int32](45),
		},
	}
	v2 := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := s.Convert(in.DeepCopy(), v2, nil); err != nil {
		t.Fatalf("convert to v2: %v", err)
	}
	if len(v2.Spec.Metrics) != 1 || !isCPUUtilization(&v2.Spec.Metrics[0]) || *v2.Spec.Metrics[0].Resource.Target.AverageUtilization != 50 {
		t.Errorf("v2 metrics = %+v, want one 50%% CPU target", v2.Spec.Metrics)
	}
	back := &autoscalingv1.HorizontalPodAutoscaler{}
	if err := s.Convert(v2, back, nil); err != nil {
		t.Fatalf("convert back: %v", err)
	}
	// The current CPU utilization comes back through the current-metrics
	// annotation too, as upstream writes it.
	if _, ok := back.Annotations[MetricStatusesAnnotation]; !ok {
		t.Errorf("no current-metrics annotation: %v", back.Annotations)
	}
	delete(back.Annotations, MetricStatusesAnnotation)
	if len(back.Annotations) == 0 {
		back.Annotations = nil
	}
	if !equality.Semantic.DeepEqual(in, back) {
		t.Errorf("v1 → v2 → v1 changed the object (-in +back):\n%s", cmp.Diff(in, back))
	}
}

func TestHPAFromV1(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		cpu         *int32
		want        []autoscalingv2.MetricSpec
		behavior    *autoscalingv2.HorizontalPodAutoscalerBehavior
	}{
		{name: "no metric gets the 80% CPU default", want: []autoscalingv2.MetricSpec{cpuUtilization(80)}},
		{name: "other metrics only", annotations: map[string]string{MetricSpecsAnnotation: `[{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"10"}}]`},
			want: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("10")}}}}},
		{name: "object metric with an average value drops the zero value", cpu: ptr.To[int32](70),
			annotations: map[string]string{MetricSpecsAnnotation: `[{"type":"Object","object":{"target":{"kind":"Service","name":"s","apiVersion":"v1"},"metricName":"m","targetValue":"0","averageValue":"3"}}]`},
			want: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: "s", APIVersion: "v1"},
				Metric:          autoscalingv2.MetricIdentifier{Name: "m"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("3")}}},
				cpuUtilization(70)}},
		{name: "unparsable annotations are ignored", annotations: map[string]string{MetricSpecsAnnotation: "{", BehaviorSpecsAnnotation: "[", ConditionsAnnotation: "x"},
			want: []autoscalingv2.MetricSpec{cpuUtilization(80)}},
		{name: "camel-case behavior decodes too", annotations: map[string]string{BehaviorSpecsAnnotation: `{"scaleUp":{"selectPolicy":"Disabled"}}`},
			want:     []autoscalingv2.MetricSpec{cpuUtilization(80)},
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect)}}},
		{name: "empty behavior is none", annotations: map[string]string{BehaviorSpecsAnnotation: `{}`}, want: []autoscalingv2.MetricSpec{cpuUtilization(80)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			annotations := map[string]string{"keep": "me"}
			for k, v := range tt.annotations {
				annotations[k] = v
			}
			in := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Annotations: annotations}}
			in.Spec.TargetCPUUtilizationPercentage = tt.cpu
			out := &autoscalingv2.HorizontalPodAutoscaler{}
			HPAFromV1(in, out)
			if !equality.Semantic.DeepEqual(tt.want, out.Spec.Metrics) {
				t.Errorf("metrics (-want +got):\n%s", cmp.Diff(tt.want, out.Spec.Metrics))
			}
			if !equality.Semantic.DeepEqual(tt.behavior, out.Spec.Behavior) {
				t.Errorf("behavior (-want +got):\n%s", cmp.Diff(tt.behavior, out.Spec.Behavior))
			}
			if d := cmp.Diff(map[string]string{"keep": "me"}, out.Annotations); d != "" {
				t.Errorf("round-trip annotations not dropped (-want +got):\n%s", d)
			}
			if len(in.Annotations) != len(annotations) {
				t.Error("the input's annotations were modified")
			}
		})
	}
}

func TestHPAListConversion(t *testing.T) {
	s := schemeWithConversions(t)
	list := &autoscalingv2.HorizontalPodAutoscalerList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: []autoscalingv2.HorizontalPodAutoscaler{*fullHPA()}}
	v1 := &autoscalingv1.HorizontalPodAutoscalerList{}
	if err := s.Convert(list, v1, nil); err != nil {
		t.Fatalf("convert list to v1: %v", err)
	}
	back := &autoscalingv2.HorizontalPodAutoscalerList{}
	if err := s.Convert(v1, back, nil); err != nil {
		t.Fatalf("convert list back: %v", err)
	}
	if !equality.Semantic.DeepEqual(list, back) {
		t.Errorf("list round trip changed it (-in +back):\n%s", cmp.Diff(list, back))
	}
}
