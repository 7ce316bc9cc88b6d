package metrics

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// columns are metrics-server's `kubectl get` columns of both resources.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the resource"},
	{Name: "CPU", Type: "string", Description: "CPU usage"},
	{Name: "Memory", Type: "string", Description: "Memory usage"},
	{Name: "Window", Type: "string", Description: "Interval used to calculate CPU usage"},
}

func (r *NodeREST) ConvertToTable(ctx context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	return toTable(obj)
}

func (r *PodREST) ConvertToTable(ctx context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	return toTable(obj)
}

// toTable gives a row per NodeMetrics or PodMetrics, a pod's usage summed
// over its containers.
func toTable(obj runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: columns}
	row := func(m *metav1.ObjectMeta, usage corev1.ResourceList, window metav1.Duration) {
		table.Rows = append(table.Rows, metav1.TableRow{
			Cells:  []any{m.Name, usage.Cpu().String(), usage.Memory().String(), window.Duration.String()},
			Object: runtime.RawExtension{Object: &metav1.PartialObjectMetadata{ObjectMeta: *m}},
		})
	}
	pod := func(p *metricsv1beta1.PodMetrics) {
		usage := corev1.ResourceList{}
		for _, c := range p.Containers {
			for name, q := range c.Usage {
				sum := usage[name]
				sum.Add(q)
				usage[name] = sum
			}
		}
		row(&p.ObjectMeta, usage, p.Window)
	}
	switch o := obj.(type) {
	case *metricsv1beta1.NodeMetrics:
		row(&o.ObjectMeta, o.Usage, o.Window)
	case *metricsv1beta1.NodeMetricsList:
		for i := range o.Items {
			row(&o.Items[i].ObjectMeta, o.Items[i].Usage, o.Items[i].Window)
		}
	case *metricsv1beta1.PodMetrics:
		pod(o)
	case *metricsv1beta1.PodMetricsList:
		for i := range o.Items {
			pod(&o.Items[i])
		}
	default:
		return nil, fmt.Errorf("no table for %T", obj)
	}
	if l, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = l.GetResourceVersion()
	}
	return table, nil
}
