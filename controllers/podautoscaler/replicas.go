package podautoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// DefaultTolerance is --horizontal-pod-autoscaler-tolerance's default: usage
// within 10% of the target does not rescale.
const DefaultTolerance = 0.1

// Upstream's defaults for CPU readiness handling.
const (
	DefaultCPUInitializationPeriod       = 5 * time.Minute
	DefaultDelayOfInitialReadinessStatus = 30 * time.Second
)

// PodMetric is one pod's usage of a resource (milli-units) at a time, over
// a window.
type PodMetric struct {
	Timestamp time.Time
	Window    time.Duration
	Value     int64
}

// PodMetrics maps pod names to their usage.
type PodMetrics map[string]PodMetric

// Tolerances are the scale-down and scale-up tolerances of the usage ratio.
type Tolerances struct{ Down, Up float64 }

func (t Tolerances) within(ratio float64) bool {
	return 1.0-t.Down <= ratio && ratio <= 1.0+t.Up
}

// Calculator computes replica counts from pods and their metrics.
type Calculator struct {
	CPUInitializationPeriod       time.Duration
	DelayOfInitialReadinessStatus time.Duration
	Now                           func() time.Time
}

func (c Calculator) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// groupPods sorts pods into ready (counted), unready, missing (no metric)
// and ignored (deleted or failed).
func (c Calculator) groupPods(pods []*corev1.Pod, metrics PodMetrics, resource corev1.ResourceName) (ready int, unready, missing, ignored map[string]bool) {
	unready, missing, ignored = map[string]bool{}, map[string]bool{}, map[string]bool{}
	now := c.now()
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodFailed {
			ignored[pod.Name] = true
			continue
		}
		if pod.Status.Phase == corev1.PodPending {
			unready[pod.Name] = true
			continue
		}
		m, ok := metrics[pod.Name]
		if !ok {
			missing[pod.Name] = true
			continue
		}
		if resource == corev1.ResourceCPU {
			var cond *corev1.PodCondition
			for i := range pod.Status.Conditions {
				if pod.Status.Conditions[i].Type == corev1.PodReady {
					cond = &pod.Status.Conditions[i]
				}
			}
			var isUnready bool
			switch {
			case cond == nil || pod.Status.StartTime == nil:
				isUnready = true
			case pod.Status.StartTime.Add(c.CPUInitializationPeriod).After(now):
				// Still initializing: unready, or ready too recently for the
				// metric to cover only ready time.
				isUnready = cond.Status == corev1.ConditionFalse || m.Timestamp.Before(cond.LastTransitionTime.Add(m.Window))
			default:
				// Past initialization: unready only if it never became ready
				// after starting.
				isUnready = cond.Status == corev1.ConditionFalse && pod.Status.StartTime.Add(c.DelayOfInitialReadinessStatus).After(cond.LastTransitionTime.Time)
			}
			if isUnready {
				unready[pod.Name] = true
				continue
			}
		}
		ready++
	}
	return ready, unready, missing, ignored
}

// requests returns each pod's request of resource (milli-units), summed
// over its containers and sidecars, or of one container, or pod-level.
func requests(pods []*corev1.Pod, container string, resource corev1.ResourceName) (map[string]int64, error) {
	out := make(map[string]int64, len(pods))
	for _, pod := range pods {
		if container == "" && pod.Spec.Resources != nil && len(pod.Spec.Resources.Requests) > 0 {
			r, ok := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})[resource]
			if !ok {
				return nil, fmt.Errorf("missing pod-level request for %s in Pod %s", resource, pod.Name)
			}
			out[pod.Name] = r.MilliValue()
			continue
		}
		containers := append([]corev1.Container{}, pod.Spec.Containers...)
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				containers = append(containers, c)
			}
		}
		var sum int64
		found := container == ""
		for _, c := range containers {
			if container != "" && c.Name != container {
				continue
			}
			q, ok := c.Resources.Requests[resource]
			if !ok {
				return nil, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, pod.Name)
			}
			sum += q.MilliValue()
			if container != "" {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("container %s not found in Pod %s", container, pod.Name)
		}
		out[pod.Name] = sum
	}
	return out, nil
}

// utilizationRatio is the usage over requests of the pods with both, as a
// ratio to the target utilization; also the utilization (percent) and the
// average raw usage.
func utilizationRatio(metrics PodMetrics, reqs map[string]int64, target int32) (float64, int32, int64, error) {
	var used, requested int64
	n := 0
	for name, m := range metrics {
		r, ok := reqs[name]
		if !ok {
			continue
		}
		used += m.Value
		requested += r
		n++
	}
	if requested == 0 {
		return 0, 0, 0, errors.New("no metrics returned matched known pods")
	}
	util := int32(used * 100 / requested)
	return float64(util) / float64(target), util, used / int64(n), nil
}

func usageRatio(metrics PodMetrics, target int64) (float64, int64) {
	var total int64
	for _, m := range metrics {
		total += m.Value
	}
	avg := total / int64(len(metrics))
	return float64(avg) / float64(target), avg
}

// ResourceReplicas is the replica count that brings the pods' utilization
// of resource (percent of requests) to target, with the utilization and
// average usage observed.
func (c Calculator) ResourceReplicas(current, target int32, resource corev1.ResourceName, tol Tolerances, pods []*corev1.Pod, metrics PodMetrics, container string) (int32, int32, int64, error) {
	if len(pods) == 0 {
		return 0, 0, 0, errors.New("no pods returned by selector while calculating replica count")
	}
	metrics = copyMetrics(metrics)
	ready, unready, missing, ignored := c.groupPods(pods, metrics, resource)
	drop(metrics, ignored)
	drop(metrics, unready)
	if len(metrics) == 0 {
		return 0, 0, 0, errors.New("did not receive metrics for targeted pods (pods might be unready)")
	}
	reqs, err := requests(pods, container, resource)
	if err != nil {
		return 0, 0, 0, err
	}
	ratio, util, raw, err := utilizationRatio(metrics, reqs, target)
	if err != nil {
		return 0, 0, 0, err
	}
	withUnready := len(unready) > 0 && ratio > 1.0
	if !withUnready && len(missing) == 0 {
		if tol.within(ratio) {
			return current, util, raw, nil
		}
		return int32(math.Ceil(ratio * float64(ready))), util, raw, nil
	}
	// Assume the worst for pods without data: missing pods use their
	// requests fully on a scale down and nothing on a scale up; unready pods
	// use nothing on a scale up.
	for name := range missing {
		switch {
		case ratio < 1.0:
			metrics[name] = PodMetric{Value: reqs[name] * int64(max(100, target)) / 100}
		case ratio > 1.0:
			metrics[name] = PodMetric{Value: 0}
		}
	}
	if withUnready {
		for name := range unready {
			metrics[name] = PodMetric{Value: 0}
		}
	}
	newRatio, _, _, err := utilizationRatio(metrics, reqs, target)
	if err != nil {
		return 0, util, raw, err
	}
	return settle(current, ratio, newRatio, len(metrics), tol), util, raw, nil
}

// RawResourceReplicas is the replica count that brings the pods' average
// usage of resource (milli-units) to target, with the average observed.
func (c Calculator) RawResourceReplicas(current int32, target int64, resource corev1.ResourceName, tol Tolerances, pods []*corev1.Pod, metrics PodMetrics) (int32, int64, error) {
	if len(pods) == 0 {
		return 0, 0, errors.New("no pods returned by selector while calculating replica count")
	}
	metrics = copyMetrics(metrics)
	ready, unready, missing, ignored := c.groupPods(pods, metrics, resource)
	drop(metrics, ignored)
	drop(metrics, unready)
	if len(metrics) == 0 {
		return 0, 0, errors.New("did not receive metrics for targeted pods (pods might be unready)")
	}
	ratio, usage := usageRatio(metrics, target)
	withUnready := len(unready) > 0 && ratio > 1.0
	if !withUnready && len(missing) == 0 {
		if tol.within(ratio) {
			return current, usage, nil
		}
		return int32(math.Ceil(ratio * float64(ready))), usage, nil
	}
	for name := range missing {
		switch {
		case ratio < 1.0:
			metrics[name] = PodMetric{Value: target}
		case ratio > 1.0:
			metrics[name] = PodMetric{Value: 0}
		}
	}
	if withUnready {
		for name := range unready {
			metrics[name] = PodMetric{Value: 0}
		}
	}
	newRatio, _ := usageRatio(metrics, target)
	return settle(current, ratio, newRatio, len(metrics), tol), usage, nil
}

// settle turns the ratio recomputed with assumed values into a count,
// keeping the current one when the change is within tolerance or the
// assumptions flip its direction.
func settle(current int32, ratio, newRatio float64, n int, tol Tolerances) int32 {
	if tol.within(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		return current
	}
	r := int32(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1.0 && r > current) || (newRatio > 1.0 && r < current) {
		return current
	}
	return r
}

func copyMetrics(m PodMetrics) PodMetrics {
	out := make(PodMetrics, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func drop(m PodMetrics, names map[string]bool) {
	for n := range names {
		delete(m, n)
	}
}
