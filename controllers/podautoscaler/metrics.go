package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// MetricsClient reads pods' resource usage.
type MetricsClient interface {
	// ResourceMetric returns the usage of resource (milli-units) of the
	// pods of namespace matching selector, summed over their containers or
	// of one container, and the time of the first sample.
	ResourceMetric(ctx context.Context, resource corev1.ResourceName, namespace string, selector labels.Selector, container string) (PodMetrics, time.Time, error)
}

// ResourceMetrics is a MetricsClient on the metrics.k8s.io API.
type ResourceMetrics struct {
	Client metricsv1beta1.PodMetricsesGetter
}

// ResourceMetric implements MetricsClient.
func (c ResourceMetrics) ResourceMetric(ctx context.Context, resource corev1.ResourceName, namespace string, selector labels.Selector, container string) (PodMetrics, time.Time, error) {
	list, err := c.Client.PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from resource metrics API: %v", err)
	}
	if len(list.Items) == 0 {
		return nil, time.Time{}, errors.New("no metrics returned from resource metrics API")
	}
	out := make(PodMetrics, len(list.Items))
	for _, m := range list.Items {
		var sum int64
		ok := len(m.Containers) > 0
		for _, ct := range m.Containers {
			if container != "" && ct.Name != container {
				continue
			}
			v, found := ct.Usage[resource]
			if !found {
				ok = false
				break
			}
			sum += v.MilliValue()
			if container != "" {
				break
			}
		}
		if container != "" {
			ok = false
			for _, ct := range m.Containers {
				if ct.Name == container {
					_, ok = ct.Usage[resource]
				}
			}
		}
		if ok {
			out[m.Name] = PodMetric{Timestamp: m.Timestamp.Time, Window: m.Window.Duration, Value: sum}
		}
	}
	return out, list.Items[0].Timestamp.Time, nil
}
