package metrics

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	corelisters "k8s.io/client-go/listers/core/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Source computes the usage of nodes and pods (resourcemetrics.Scraper).
type Source interface {
	NodeMetrics(*corev1.Node) (metricsv1beta1.NodeMetrics, bool)
	PodMetrics(*corev1.Pod) (metricsv1beta1.PodMetrics, bool)
}

// Config is what the metrics storage reads.
type Config struct {
	Nodes   corelisters.NodeLister
	Pods    corelisters.PodLister
	Metrics Source
}

// The resources NotFound errors name, as metrics-server's.
var (
	nodeMetricsResource = metricsv1beta1.Resource("nodemetrics")
	podMetricsResource  = metricsv1beta1.Resource("podmetrics")
)

// Storage returns the REST storage of metrics.k8s.io/v1beta1 keyed by
// resource, or nil when c is not complete (the group is then not served).
func Storage(c Config) map[string]rest.Storage {
	if c.Nodes == nil || c.Pods == nil || c.Metrics == nil {
		return nil
	}
	return map[string]rest.Storage{
		"nodes": &NodeREST{nodes: c.Nodes, metrics: c.Metrics},
		"pods":  &PodREST{pods: c.Pods, metrics: c.Metrics},
	}
}

// NodeREST serves NodeMetrics. As metrics-server's, both resources publish
// no singular name, so that kubectl derives "nodemetrics" and "podmetrics"
// from the kinds (`kubectl get podmetrics`).
type NodeREST struct {
	nodes   corelisters.NodeLister
	metrics Source
}

var (
	_ rest.Storage              = &NodeREST{}
	_ rest.Getter               = &NodeREST{}
	_ rest.Lister               = &NodeREST{}
	_ rest.Scoper               = &NodeREST{}
	_ rest.KindProvider         = &NodeREST{}
	_ rest.SingularNameProvider = &NodeREST{}
)

func (r *NodeREST) New() runtime.Object     { return &metricsv1beta1.NodeMetrics{} }
func (r *NodeREST) NewList() runtime.Object { return &metricsv1beta1.NodeMetricsList{} }
func (r *NodeREST) Destroy()                {}
func (r *NodeREST) NamespaceScoped() bool   { return false }
func (r *NodeREST) Kind() string            { return "NodeMetrics" }
func (r *NodeREST) GetSingularName() string { return "node" }

// Get returns the node's metrics; a node the server does not know gives
// the node lister's NotFound, a node without usage nodemetrics' NotFound.
func (r *NodeREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	node, err := r.nodes.Get(name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("get node %s: %w", name, err))
	}
	m, ok := r.metrics.NodeMetrics(node)
	if !ok {
		return nil, apierrors.NewNotFound(nodeMetricsResource, name)
	}
	return &m, nil
}

// List returns the metrics of the nodes matching the selectors that have
// usage, by name.
func (r *NodeREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	label, field := selectors(options)
	nodes, err := r.nodes.List(label)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list nodes: %w", err))
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	list := &metricsv1beta1.NodeMetricsList{Items: []metricsv1beta1.NodeMetrics{}}
	for _, node := range nodes {
		if !field.Matches(generic.ObjectMetaFieldsSet(&node.ObjectMeta, false)) {
			continue
		}
		if m, ok := r.metrics.NodeMetrics(node); ok {
			list.Items = append(list.Items, m)
		}
	}
	return list, nil
}

// PodREST serves PodMetrics.
type PodREST struct {
	pods    corelisters.PodLister
	metrics Source
}

var (
	_ rest.Storage              = &PodREST{}
	_ rest.Getter               = &PodREST{}
	_ rest.Lister               = &PodREST{}
	_ rest.Scoper               = &PodREST{}
	_ rest.KindProvider         = &PodREST{}
	_ rest.SingularNameProvider = &PodREST{}
)

func (r *PodREST) New() runtime.Object     { return &metricsv1beta1.PodMetrics{} }
func (r *PodREST) NewList() runtime.Object { return &metricsv1beta1.PodMetricsList{} }
func (r *PodREST) Destroy()                {}
func (r *PodREST) NamespaceScoped() bool   { return true }
func (r *PodREST) Kind() string            { return "PodMetrics" }
func (r *PodREST) GetSingularName() string { return "" }

// Get returns the pod's metrics; a pod the server does not know gives the
// pod lister's NotFound, a pod without usage podmetrics' NotFound for
// "namespace/name", as metrics-server's.
func (r *PodREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	namespace := genericapirequest.NamespaceValue(ctx)
	pod, err := r.pods.Pods(namespace).Get(name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("get pod %s/%s: %w", namespace, name, err))
	}
	m, ok := r.metrics.PodMetrics(pod)
	if !ok {
		return nil, apierrors.NewNotFound(podMetricsResource, namespace+"/"+name)
	}
	return &m, nil
}

// List returns the metrics of the pods of the request's namespace (all
// namespaces when none) matching the selectors that have usage, by
// namespace and name.
func (r *PodREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	label, field := selectors(options)
	var (
		pods []*corev1.Pod
		err  error
	)
	if namespace := genericapirequest.NamespaceValue(ctx); namespace != metav1.NamespaceAll {
		pods, err = r.pods.Pods(namespace).List(label)
	} else {
		pods, err = r.pods.List(label)
	}
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list pods: %w", err))
	}
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
	list := &metricsv1beta1.PodMetricsList{Items: []metricsv1beta1.PodMetrics{}}
	for _, pod := range pods {
		if !field.Matches(generic.ObjectMetaFieldsSet(&pod.ObjectMeta, true)) {
			continue
		}
		if m, ok := r.metrics.PodMetrics(pod); ok {
			list.Items = append(list.Items, m)
		}
	}
	return list, nil
}

func selectors(options *metainternalversion.ListOptions) (labels.Selector, fields.Selector) {
	label, field := labels.Everything(), fields.Everything()
	if options != nil {
		if options.LabelSelector != nil {
			label = options.LabelSelector
		}
		if options.FieldSelector != nil {
			field = options.FieldSelector
		}
	}
	return label, field
}
