package operator

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersionKind is the Widget kind served by testdata/crds/widgets.yaml.
var GroupVersionKind = schema.GroupVersionKind{Group: "example.skiff.dev", Version: "v1", Kind: "Widget"}

const (
	// Finalizer is the finalizer the reconciler keeps on every live Widget
	// until it has removed the Widget from its namespace's inventory.
	Finalizer = "example.skiff.dev/cleanup"

	// MutatedLabel is the label the mutating webhook sets to "true".
	MutatedLabel = "example.skiff.dev/mutated"

	// ConditionReady is the status condition the reconciler maintains.
	ConditionReady = "Ready"

	// InventoryName is the ConfigMap, one per namespace, that lists the
	// namespace's Widgets (name → tier). It is shared, so not owned by any
	// Widget: the finalizer is what removes a deleted Widget's entry.
	InventoryName = "widget-inventory"
)

// NewWidget returns an empty Widget with its apiVersion and kind set, ready
// to be a Get target or filled in for a Create.
func NewWidget() *unstructured.Unstructured {
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(GroupVersionKind)
	return w
}

// ConfigMapName is the name of the ConfigMap the reconciler creates for, and
// makes controlled by, the Widget named widget.
func ConfigMapName(widget string) string {
	return widget + "-widget"
}
