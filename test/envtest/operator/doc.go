// Package operator is a small controller-runtime operator for Widgets
// (widgets.example.skiff.dev), used by the envtest suite to drive Skiff's API
// server the way a kubebuilder project would: a finalizing reconciler that
// owns a ConfigMap and writes status, plus validating and mutating webhooks.
// It is test scaffolding, not a product: nothing in Skiff imports it.
package operator
