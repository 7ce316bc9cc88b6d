package resourcequota_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers/podautoscaler"

	"github.com/skiff-dev/skiff/controllers/controllertest"
)

func hpaFor(name, target string, minR *int32, maxR int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    minR,
			MaxReplicas:    maxR,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)},
				},
			}},
		},
	}
}

func condition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) (corev1.ConditionStatus, string) {
	for _, c := range h.Status.Conditions {
		if c.Type == t {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

func TestHPAWithoutMetricsAPI(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	labels := map[string]string{"app": "cpu"}
	deployment(t, ctx, ns, "cpu", 2, labels)
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("cpu-%d", i)
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod(name, labels, rl("cpu", "100m"), nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		setPodPhase(t, ctx, ns, name, corev1.PodRunning, true)
	}
	if _, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpaFor("cpu", "cpu", ptr.To[int32](1), 5), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create hpa: %v", err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		h, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "cpu", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		as, ar := condition(h, autoscalingv2.AbleToScale)
		ss, sr := condition(h, autoscalingv2.ScalingActive)
		if as != corev1.ConditionTrue || ar != "SucceededGetScale" || ss != corev1.ConditionFalse || sr != "FailedGetResourceMetric" {
			return false, fmt.Errorf("AbleToScale %s/%s, ScalingActive %s/%s", as, ar, ss, sr)
		}
		if h.Status.CurrentReplicas != 2 {
			return false, fmt.Errorf("currentReplicas %d", h.Status.CurrentReplicas)
		}
		return true, nil
	}, "HPA reports the missing metrics API")
	d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "cpu", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Fatalf("deployment scaled to %d without metrics", *d.Spec.Replicas)
	}
}

func TestHPAClampsToMaxAndSkipsZero(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	deployment(t, ctx, ns, "big", 7, map[string]string{"app": "big"})
	deployment(t, ctx, ns, "zero", 0, map[string]string{"app": "zero"})
	hpas := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns)
	if _, err := hpas.Create(ctx, hpaFor("big", "big", nil, 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := hpas.Create(ctx, hpaFor("zero", "zero", nil, 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Above maxReplicas: scaled down to it with no metrics needed.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "big", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		h, err := hpas.Get(ctx, "big", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ok := *d.Spec.Replicas == 3 && h.Status.DesiredReplicas == 3 && h.Status.LastScaleTime != nil
		return check(ok, "deployment %d, status %d->%d", *d.Spec.Replicas, h.Status.CurrentReplicas, h.Status.DesiredReplicas)
	}, "target clamped to maxReplicas")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == "big" && e.Reason == "SuccessfulRescale" && e.Message == "New size: 3; reason: Current number of replicas above Spec.MaxReplicas" {
				return true, nil
			}
		}
		return false, nil
	}, "SuccessfulRescale event")
	// At zero replicas autoscaling is off.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		h, err := hpas.Get(ctx, "zero", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s, r := condition(h, autoscalingv2.ScalingActive)
		return check(s == corev1.ConditionFalse && r == "ScalingDisabled", "ScalingActive %s/%s", s, r)
	}, "scaling disabled at zero replicas")
	d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "zero", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 0 {
		t.Fatalf("zero deployment: %v replicas, %v", d.Spec.Replicas, err)
	}
}

// fakeMetrics serves fixed pod usage in place of metrics.k8s.io.
type fakeMetrics map[string]int64

func (f fakeMetrics) ResourceMetric(_ context.Context, _ corev1.ResourceName, _ string, _ labels.Selector, _ string) (podautoscaler.PodMetrics, time.Time, error) {
	out := podautoscaler.PodMetrics{}
	for k, v := range f {
		out[k] = podautoscaler.PodMetric{Timestamp: time.Now(), Window: time.Minute, Value: v}
	}
	return out, time.Now(), nil
}

// TestHPAScalesOnMetrics drives the HPA reconciler (with usage from a fake
// metrics source, the rest real: /scale, pods, status) against the API
// server: 2 pods at 100% of their cpu request with a 50% target double the
// Deployment.
func TestHPAScalesOnMetrics(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	labels := map[string]string{"app": "hot"}
	deployment(t, ctx, ns, "hot", 2, labels)
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("hot-%d", i)
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod(name, labels, rl("cpu", "100m"), nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		setPodPhase(t, ctx, ns, name, corev1.PodRunning, true)
	}
	// The running controller also syncs this HPA (and finds no metrics
	// API); each poll reconciles again, so its writes cannot mask ours.
	h := hpaFor("hot", "hot", ptr.To[int32](1), 10)
	created, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mapper := env.Ctrl.RESTMapper()
	scales, err := scale.NewForConfig(env.Config, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(env.Client.Discovery()))
	if err != nil {
		t.Fatal(err)
	}
	// Pod start times are "now": no CPU initialization period, so the
	// ready pods' usage counts at once.
	r := &podautoscaler.Reconciler{
		Client: env.Ctrl, Scales: scales, Mapper: mapper,
		Metrics:    fakeMetrics{"hot-0": 100, "hot-1": 100},
		Recorder:   record.NewFakeRecorder(100),
		Calculator: podautoscaler.Calculator{CPUInitializationPeriod: 0, DelayOfInitialReadinessStatus: 0},
		History:    podautoscaler.NewHistory(time.Now, podautoscaler.DefaultDownscaleStabilization),
		Tolerance:  podautoscaler.DefaultTolerance, SyncPeriod: time.Hour,
	}
	key := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(created)}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		if _, err := r.Reconcile(ctx, key); err != nil {
			return false, err
		}
		d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "hot", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "hot", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s, reason := condition(got, autoscalingv2.ScalingActive)
		var util int32
		if len(got.Status.CurrentMetrics) == 1 && got.Status.CurrentMetrics[0].Resource != nil && got.Status.CurrentMetrics[0].Resource.Current.AverageUtilization != nil {
			util = *got.Status.CurrentMetrics[0].Resource.Current.AverageUtilization
		}
		return check(*d.Spec.Replicas == 4 && got.Status.DesiredReplicas == 4 && s == corev1.ConditionTrue && reason == "ValidMetricFound" && util == 100,
			"deployment %d, desired %d, ScalingActive %s/%s, utilization %d", *d.Spec.Replicas, got.Status.DesiredReplicas, s, reason, util)
	}, "scaled up on metrics")
}
