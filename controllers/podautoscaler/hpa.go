package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/skiff-dev/skiff/controllers"
)

// SyncPeriod is --horizontal-pod-autoscaler-sync-period's default.
const SyncPeriod = 15 * time.Second

// Descriptor is the horizontal pod autoscaler controller.
var Descriptor = controllers.Descriptor{Name: "horizontalpodautoscaling", Setup: Setup}

// Setup registers the HPA controller with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	scales, err := scale.NewForConfig(c.RESTConfig, c.Manager.GetRESTMapper(), dynamic.LegacyAPIPathResolverFunc,
		scale.NewDiscoveryScaleKindResolver(c.Client.Discovery()))
	if err != nil {
		return fmt.Errorf("horizontalpodautoscaling: scale client: %w", err)
	}
	mc, err := metricsclient.NewForConfig(c.RESTConfig)
	if err != nil {
		return fmt.Errorf("horizontalpodautoscaling: metrics client: %w", err)
	}
	r := &Reconciler{
		Client:     c.Manager.GetClient(),
		Scales:     scales,
		Mapper:     c.Manager.GetRESTMapper(),
		Metrics:    ResourceMetrics{Client: mc.MetricsV1beta1()},
		Recorder:   c.Manager.GetEventRecorderFor("horizontal-pod-autoscaler"),
		Calculator: Calculator{CPUInitializationPeriod: DefaultCPUInitializationPeriod, DelayOfInitialReadinessStatus: DefaultDelayOfInitialReadinessStatus},
		History:    NewHistory(time.Now, DefaultDownscaleStabilization),
		Tolerance:  DefaultTolerance,
		SyncPeriod: SyncPeriod,
	}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("horizontalpodautoscaling").
		WatchesRawSource(source.Kind(c.Manager.GetCache(), &autoscalingv2.HorizontalPodAutoscaler{},
			&handler.TypedEnqueueRequestForObject[*autoscalingv2.HorizontalPodAutoscaler]{},
			predicate.TypedFuncs[*autoscalingv2.HorizontalPodAutoscaler]{
				// Status writes do not resync; the period does.
				UpdateFunc: func(e event.TypedUpdateEvent[*autoscalingv2.HorizontalPodAutoscaler]) bool {
					return e.ObjectOld.Generation != e.ObjectNew.Generation
				},
				DeleteFunc: func(e event.TypedDeleteEvent[*autoscalingv2.HorizontalPodAutoscaler]) bool {
					r.History.Forget(client.ObjectKeyFromObject(e.Object).String())
					r.Selectors.Forget(client.ObjectKeyFromObject(e.Object).String())
					return false
				},
			})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// Reconciler autoscales one HPA's target.
type Reconciler struct {
	Client     client.Client
	Scales     scale.ScalesGetter
	Mapper     apimeta.RESTMapper
	Metrics    MetricsClient
	Recorder   record.EventRecorder
	Calculator Calculator
	History    *History
	// Selectors tracks the HPAs' target selectors (AmbiguousSelector);
	// the zero value is ready to use.
	Selectors  Selectors
	Tolerance  float64
	SyncPeriod time.Duration
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := r.Client.Get(ctx, req.NamespacedName, hpa); err != nil {
		if apierrors.IsNotFound(err) {
			r.History.Forget(req.String())
			r.Selectors.Forget(req.String())
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	err := r.reconcile(ctx, hpa.DeepCopy(), req.String())
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Failed to reconcile HorizontalPodAutoscaler")
	}
	// Level-based on a period: errors are reported in status and events and
	// retried on the next period, as upstream's resync does.
	return reconcile.Result{RequeueAfter: r.SyncPeriod}, nil
}

var errSpec = errors.New("invalid spec")

func (r *Reconciler) reconcile(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, key string) error {
	log := ctrl.LoggerFrom(ctx)
	original := hpa.Status.DeepCopy()
	ref := hpa.Spec.ScaleTargetRef
	reference := fmt.Sprintf("%s/%s/%s", ref.Kind, hpa.Namespace, ref.Name)

	failGetScale := func(err error) error {
		r.Recorder.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		SetCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		return r.updateStatusIfNeeded(ctx, original, hpa)
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		_ = failGetScale(err)
		return fmt.Errorf("invalid API version in scale target reference: %v: %w", err, errSpec)
	}
	mappings, err := r.Mapper.RESTMappings(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
	if err != nil {
		_ = failGetScale(err)
		return fmt.Errorf("unable to determine resource for scale target reference: %w", err)
	}
	sc, gr, err := r.scaleFor(ctx, hpa.Namespace, ref.Name, mappings)
	if err != nil {
		_ = failGetScale(err)
		return fmt.Errorf("failed to query scale subresource for %s: %w", reference, err)
	}
	SetCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
	current := sc.Spec.Replicas
	r.History.Init(key, current)

	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	var (
		desired  int32
		reason   string
		statuses []autoscalingv2.MetricStatus
		rescale  = true
		retErr   error
	)
	switch {
	case current == 0:
		desired, rescale = 0, false
		SetCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
	case current > hpa.Spec.MaxReplicas:
		reason, desired = "Current number of replicas above Spec.MaxReplicas", hpa.Spec.MaxReplicas
	case current < minReplicas:
		reason, desired = "Current number of replicas below Spec.MinReplicas", minReplicas
	default:
		var proposal int32
		var metric string
		proposal, metric, statuses, err = r.replicasForMetrics(ctx, hpa, sc)
		if err != nil && proposal == -1 {
			r.setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, false)
			if uerr := r.updateStatusIfNeeded(ctx, original, hpa); uerr != nil {
				log.Error(uerr, "Update status")
			}
			r.Recorder.Event(hpa, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			return fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %w", reference, err)
		}
		retErr = err
		rescaleMetric := ""
		if proposal > desired {
			desired, rescaleMetric = proposal, metric
		}
		if desired > current {
			reason = fmt.Sprintf("%s above target", rescaleMetric)
		}
		if desired < current {
			reason = "All metrics below target"
		}
		var l Limit
		if hpa.Spec.Behavior == nil {
			desired, l = r.History.Normalize(key, current, desired, minReplicas, hpa.Spec.MaxReplicas)
		} else {
			desired, l = r.History.NormalizeWithBehavior(key, hpa.Spec.Behavior, current, desired, minReplicas, hpa.Spec.MaxReplicas)
		}
		SetCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, l.StabilizedReason, "%s", l.StabilizedMessage)
		limited := corev1.ConditionFalse
		if l.Limited {
			limited = corev1.ConditionTrue
		}
		SetCondition(hpa, autoscalingv2.ScalingLimited, limited, l.LimitReason, "%s", l.LimitMessage)
		rescale = desired != current
	}

	if rescale {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			sc.Spec.Replicas = desired
			_, uerr := r.Scales.Scales(hpa.Namespace).Update(ctx, gr, sc, metav1.UpdateOptions{})
			if uerr == nil {
				return nil
			}
			if latest, gerr := r.Scales.Scales(hpa.Namespace).Get(ctx, gr, ref.Name, metav1.GetOptions{}); gerr == nil {
				sc = latest
			}
			return uerr
		})
		if err != nil {
			r.Recorder.Eventf(hpa, corev1.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err.Error())
			SetCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale", "the HPA controller was unable to update the target scale: %v", err)
			r.setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, false)
			if uerr := r.updateStatusIfNeeded(ctx, original, hpa); uerr != nil {
				log.Error(uerr, "Update status")
			}
			return fmt.Errorf("failed to rescale %s: %w", reference, err)
		}
		SetCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", "the HPA controller was able to update the target scale to %d", desired)
		r.Recorder.Eventf(hpa, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		r.History.RecordScale(key, hpa.Spec.Behavior, current, desired)
		log.Info("Successfully rescaled", "currentReplicas", current, "desiredReplicas", desired, "reason", reason)
	} else {
		desired = current
	}
	r.setStatus(hpa, current, desired, statuses, rescale)
	if err := r.updateStatusIfNeeded(ctx, original, hpa); err != nil {
		return err
	}
	return retErr
}

func (r *Reconciler) scaleFor(ctx context.Context, namespace, name string, mappings []*apimeta.RESTMapping) (*autoscalingv1.Scale, schema.GroupResource, error) {
	var first error
	for i, m := range mappings {
		gr := m.Resource.GroupResource()
		s, err := r.Scales.Scales(namespace).Get(ctx, gr, name, metav1.GetOptions{})
		if err == nil {
			return s, gr, nil
		}
		if i == 0 {
			first = err
		}
	}
	if first == nil {
		first = errors.New("unrecognized resource")
	}
	return nil, schema.GroupResource{}, first
}

// replicasForMetrics proposes the largest count any metric asks for; -1
// with an error when no metric could be evaluated, or some failed and the
// rest would scale down.
func (r *Reconciler) replicasForMetrics(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sc *autoscalingv1.Scale) (int32, string, []autoscalingv2.MetricStatus, error) {
	if sc.Status.Selector == "" {
		msg := "selector is required"
		r.Recorder.Event(hpa, corev1.EventTypeWarning, "SelectorRequired", msg)
		SetCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector")
		return -1, "", nil, errors.New(msg)
	}
	selector, err := labels.Parse(sc.Status.Selector)
	if err != nil {
		msg := fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", err)
		r.Recorder.Event(hpa, corev1.EventTypeWarning, "InvalidSelector", msg)
		SetCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "%s", msg)
		return -1, "", nil, errors.New(msg)
	}
	podList := &corev1.PodList{}
	if err := r.Client.List(ctx, podList, client.InNamespace(hpa.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return -1, "", nil, fmt.Errorf("unable to get pods while calculating replica count: %w", err)
	}
	pods := make([]*corev1.Pod, 0, len(podList.Items))
	for i := range podList.Items {
		pods = append(pods, &podList.Items[i])
	}
	key := client.ObjectKeyFromObject(hpa).String()
	r.Selectors.Put(key, hpa.Namespace, selector)
	if hpas := r.Selectors.Controlling(pods); len(hpas) > 1 {
		msg := fmt.Sprintf("pods by selector %v are controlled by multiple HPAs: %v", sc.Status.Selector, hpas)
		r.Recorder.Event(hpa, corev1.EventTypeWarning, "AmbiguousSelector", msg)
		SetCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "AmbiguousSelector", "%s", msg)
		return -1, "", nil, errors.New(msg)
	}
	statuses := make([]autoscalingv2.MetricStatus, len(hpa.Spec.Metrics))
	var (
		replicas      int32
		metric        string
		invalid       int
		firstErr      error
		firstCondType autoscalingv2.HorizontalPodAutoscalerConditionType
		firstReason   string
		firstMessage  string
	)
	tol := Tolerances{Down: r.Tolerance, Up: r.Tolerance}
	if b := hpa.Spec.Behavior; b != nil {
		if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
			tol.Down = b.ScaleDown.Tolerance.AsApproximateFloat64()
		}
		if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
			tol.Up = b.ScaleUp.Tolerance.AsApproximateFloat64()
		}
	}
	for i, spec := range hpa.Spec.Metrics {
		proposal, name, reason, err := r.replicasForMetric(ctx, hpa, spec, sc.Spec.Replicas, selector, pods, tol, &statuses[i])
		if err != nil {
			r.Recorder.Event(hpa, corev1.EventTypeWarning, reason, err.Error())
			if invalid == 0 {
				firstErr, firstCondType, firstReason = err, autoscalingv2.ScalingActive, reason
				firstMessage = fmt.Sprintf("the HPA was unable to compute the replica count: %v", err)
			}
			invalid++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas, metric = proposal, name
		}
	}
	if firstErr != nil {
		firstErr = fmt.Errorf("invalid metrics (%v invalid out of %v), first error is: %v", invalid, len(hpa.Spec.Metrics), firstErr)
	}
	if invalid >= len(hpa.Spec.Metrics) || (invalid > 0 && replicas < sc.Spec.Replicas) {
		SetCondition(hpa, firstCondType, corev1.ConditionFalse, firstReason, "%s", firstMessage)
		return -1, "", statuses, firstErr
	}
	SetCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from %s", metric)
	return replicas, metric, statuses, firstErr
}

// replicasForMetric evaluates one metric; on failure it returns the
// condition reason upstream uses for the metric's type.
func (r *Reconciler) replicasForMetric(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, current int32, selector labels.Selector, pods []*corev1.Pod, tol Tolerances, status *autoscalingv2.MetricStatus) (int32, string, string, error) {
	switch spec.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if spec.Resource == nil {
			return 0, "", "FailedGetResourceMetric", errors.New("resource metric source without a resource")
		}
		n, name, v, err := r.resourceReplicas(ctx, hpa.Namespace, current, spec.Resource.Target, spec.Resource.Name, "", selector, pods, tol, "")
		if err != nil {
			return 0, "", "FailedGetResourceMetric", err
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, Resource: &autoscalingv2.ResourceMetricStatus{Name: spec.Resource.Name, Current: *v}}
		return n, name, "", nil
	case autoscalingv2.ContainerResourceMetricSourceType:
		if spec.ContainerResource == nil {
			return 0, "", "FailedGetContainerResourceMetric", errors.New("container resource metric source without a resource")
		}
		n, name, v, err := r.resourceReplicas(ctx, hpa.Namespace, current, spec.ContainerResource.Target, spec.ContainerResource.Name, spec.ContainerResource.Container, selector, pods, tol, " container")
		if err != nil {
			return 0, "", "FailedGetContainerResourceMetric", err
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: spec.ContainerResource.Name, Container: spec.ContainerResource.Container, Current: *v}}
		return n, name, "", nil
	case autoscalingv2.PodsMetricSourceType:
		return 0, "", "FailedGetPodsMetric", errors.New("unable to get metric: the custom metrics API is not supported")
	case autoscalingv2.ObjectMetricSourceType:
		return 0, "", "FailedGetObjectMetric", errors.New("unable to get metric: the custom metrics API is not supported")
	case autoscalingv2.ExternalMetricSourceType:
		return 0, "", "FailedGetExternalMetric", errors.New("unable to get external metric: the external metrics API is not supported")
	default:
		err := fmt.Errorf("unknown metric source type %q%w", string(spec.Type), errSpec)
		return 0, "", "InvalidMetricSourceType", err
	}
}

func (r *Reconciler) resourceReplicas(ctx context.Context, namespace string, current int32, target autoscalingv2.MetricTarget, res corev1.ResourceName, container string, selector labels.Selector, pods []*corev1.Pod, tol Tolerances, kind string) (int32, string, *autoscalingv2.MetricValueStatus, error) {
	if target.AverageValue == nil && target.AverageUtilization == nil {
		return 0, "", nil, errors.New("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
	}
	metrics, _, err := r.Metrics.ResourceMetric(ctx, res, namespace, selector, container)
	if target.AverageValue != nil {
		if err != nil {
			return 0, "", nil, fmt.Errorf("failed to get %s usage: unable to get metrics for resource %s: %v", res, res, err)
		}
		n, usage, err := r.Calculator.RawResourceReplicas(current, target.AverageValue.MilliValue(), res, tol, pods, metrics)
		if err != nil {
			return 0, "", nil, fmt.Errorf("failed to get %s usage: %v", res, err)
		}
		q := quantity(res, usage)
		return n, fmt.Sprintf("%s resource", res), &autoscalingv2.MetricValueStatus{AverageValue: &q}, nil
	}
	if err != nil {
		return 0, "", nil, fmt.Errorf("failed to get %s utilization: unable to get metrics for resource %s: %v", res, res, err)
	}
	n, util, raw, err := r.Calculator.ResourceReplicas(current, *target.AverageUtilization, res, tol, pods, metrics, container)
	if err != nil {
		return 0, "", nil, fmt.Errorf("failed to get %s utilization: %v", res, err)
	}
	q := quantity(res, raw)
	return n, fmt.Sprintf("%s%s resource utilization (percentage of request)", res, kind), &autoscalingv2.MetricValueStatus{AverageUtilization: &util, AverageValue: &q}, nil
}

// quantity formats a milli-value as the metrics server does: memory in
// binary units, the rest decimal.
func quantity(res corev1.ResourceName, milli int64) resource.Quantity {
	if res == corev1.ResourceMemory {
		return *resource.NewMilliQuantity(milli, resource.BinarySI)
	}
	return *resource.NewMilliQuantity(milli, resource.DecimalSI)
}

func (r *Reconciler) setStatus(hpa *autoscalingv2.HorizontalPodAutoscaler, current, desired int32, metrics []autoscalingv2.MetricStatus, rescale bool) {
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: current,
		DesiredReplicas: desired,
		LastScaleTime:   hpa.Status.LastScaleTime,
		CurrentMetrics:  metrics,
		Conditions:      hpa.Status.Conditions,
	}
	if rescale {
		now := metav1.Now()
		hpa.Status.LastScaleTime = &now
	}
}

func (r *Reconciler) updateStatusIfNeeded(ctx context.Context, original *autoscalingv2.HorizontalPodAutoscalerStatus, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	if apiequality.Semantic.DeepEqual(original, &hpa.Status) {
		return nil
	}
	if err := r.Client.Status().Update(ctx, hpa); err != nil {
		r.Recorder.Event(hpa, corev1.EventTypeWarning, "FailedUpdateStatus", err.Error())
		return fmt.Errorf("failed to update status for %s: %w", hpa.Name, err)
	}
	return nil
}

// SetCondition sets (or adds) a condition, moving its transition time only
// when its status changes.
func SetCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType, status corev1.ConditionStatus, reason, format string, args ...any) {
	var c *autoscalingv2.HorizontalPodAutoscalerCondition
	for i := range hpa.Status.Conditions {
		if hpa.Status.Conditions[i].Type == t {
			c = &hpa.Status.Conditions[i]
			break
		}
	}
	if c == nil {
		hpa.Status.Conditions = append(hpa.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{Type: t})
		c = &hpa.Status.Conditions[len(hpa.Status.Conditions)-1]
	}
	if c.Status != status {
		c.LastTransitionTime = metav1.Now()
	}
	c.Status, c.Reason, c.Message = status, reason, fmt.Sprintf(format, args...)
}
