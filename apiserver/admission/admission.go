package admission

import (
	genericoptions "k8s.io/apiserver/pkg/server/options"
)

// NewOptions returns the admission options with every plugin Skiff
// provides registered, in kube-apiserver's recommended order.
func NewOptions() *genericoptions.AdmissionOptions {
	o := genericoptions.NewAdmissionOptions()
	return o
}
