package admission

import (
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	genericoptions "k8s.io/apiserver/pkg/server/options"

	"github.com/skiff-dev/skiff/apiserver/admission/serviceaccount"
)

// NewOptions returns the admission options with every plugin Skiff
// provides registered, in kube-apiserver's recommended order, all enabled
// by default as kube-apiserver enables them.
func NewOptions() *genericoptions.AdmissionOptions {
	o := genericoptions.NewAdmissionOptions()
	serviceaccount.Register(o.Plugins)
	o.RecommendedPluginOrder = []string{
		lifecycle.PluginName,
		serviceaccount.PluginName,
		mutatingadmissionpolicy.PluginName,
		mutatingwebhook.PluginName,
		validatingadmissionpolicy.PluginName,
		validatingwebhook.PluginName,
	}
	return o
}
