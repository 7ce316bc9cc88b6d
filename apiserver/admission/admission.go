package admission

import (
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	genericoptions "k8s.io/apiserver/pkg/server/options"

	"github.com/skiff-dev/skiff/apiserver/admission/certificateapproval"
	"github.com/skiff-dev/skiff/apiserver/admission/certificatesigning"
	"github.com/skiff-dev/skiff/apiserver/admission/certificatesubjectrestriction"
	"github.com/skiff-dev/skiff/apiserver/admission/ctbattest"
	"github.com/skiff-dev/skiff/apiserver/admission/defaultingressclass"
	"github.com/skiff-dev/skiff/apiserver/admission/defaultstorageclass"
	"github.com/skiff-dev/skiff/apiserver/admission/defaulttolerationseconds"
	"github.com/skiff-dev/skiff/apiserver/admission/limitranger"
	"github.com/skiff-dev/skiff/apiserver/admission/noderestriction"
	"github.com/skiff-dev/skiff/apiserver/admission/nodetaint"
	"github.com/skiff-dev/skiff/apiserver/admission/persistentvolumeclaimresize"
	"github.com/skiff-dev/skiff/apiserver/admission/podsecurity"
	"github.com/skiff-dev/skiff/apiserver/admission/priority"
	"github.com/skiff-dev/skiff/apiserver/admission/resourcequota"
	"github.com/skiff-dev/skiff/apiserver/admission/runtimeclass"
	"github.com/skiff-dev/skiff/apiserver/admission/serviceaccount"
	"github.com/skiff-dev/skiff/apiserver/admission/storageobjectinuseprotection"
)

// OrderedPlugins lists the plugins Skiff provides in the order
// kube-apiserver runs them (its AllOrderedPlugins, less the plugins Skiff
// does not have): mutating plugins see the object in this order, and
// ResourceQuota comes last so that it counts what every other plugin let
// through.
var OrderedPlugins = []string{
	lifecycle.PluginName,                     // NamespaceLifecycle
	limitranger.PluginName,                   // LimitRanger
	serviceaccount.PluginName,                // ServiceAccount
	noderestriction.PluginName,               // NodeRestriction
	nodetaint.PluginName,                     // TaintNodesByCondition
	podsecurity.PluginName,                   // PodSecurity
	priority.PluginName,                      // Priority
	defaulttolerationseconds.PluginName,      // DefaultTolerationSeconds
	defaultstorageclass.PluginName,           // DefaultStorageClass
	storageobjectinuseprotection.PluginName,  // StorageObjectInUseProtection
	persistentvolumeclaimresize.PluginName,   // PersistentVolumeClaimResize
	runtimeclass.PluginName,                  // RuntimeClass
	certificateapproval.PluginName,           // CertificateApproval
	certificatesigning.PluginName,            // CertificateSigning
	ctbattest.PluginName,                     // ClusterTrustBundleAttest
	certificatesubjectrestriction.PluginName, // CertificateSubjectRestriction
	defaultingressclass.PluginName,           // DefaultIngressClass
	mutatingadmissionpolicy.PluginName,       // MutatingAdmissionPolicy
	mutatingwebhook.PluginName,               // MutatingAdmissionWebhook
	validatingadmissionpolicy.PluginName,     // ValidatingAdmissionPolicy
	validatingwebhook.PluginName,             // ValidatingAdmissionWebhook
	resourcequota.PluginName,                 // ResourceQuota
}

// DefaultOffPlugins returns the plugins of OrderedPlugins that are off
// unless enabled, as kube-apiserver's are: NodeRestriction (clusters with
// kubelets turn it on with --enable-admission-plugins=NodeRestriction).
func DefaultOffPlugins() sets.Set[string] {
	return sets.New(noderestriction.PluginName)
}

// NewOptions returns the admission options with every plugin Skiff
// provides registered, in kube-apiserver's recommended order, enabled by
// default as kube-apiserver enables them.
func NewOptions() *genericoptions.AdmissionOptions {
	o := genericoptions.NewAdmissionOptions()
	limitranger.Register(o.Plugins)
	serviceaccount.Register(o.Plugins)
	noderestriction.Register(o.Plugins)
	nodetaint.Register(o.Plugins)
	podsecurity.Register(o.Plugins)
	priority.Register(o.Plugins)
	defaulttolerationseconds.Register(o.Plugins)
	defaultstorageclass.Register(o.Plugins)
	storageobjectinuseprotection.Register(o.Plugins)
	persistentvolumeclaimresize.Register(o.Plugins)
	runtimeclass.Register(o.Plugins)
	certificateapproval.Register(o.Plugins)
	certificatesigning.Register(o.Plugins)
	ctbattest.Register(o.Plugins)
	certificatesubjectrestriction.Register(o.Plugins)
	defaultingressclass.Register(o.Plugins)
	resourcequota.Register(o.Plugins)
	o.RecommendedPluginOrder = append([]string(nil), OrderedPlugins...)
	o.DefaultOffPlugins = DefaultOffPlugins()
	return o
}
