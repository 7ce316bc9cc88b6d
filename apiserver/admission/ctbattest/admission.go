package ctbattest

import (
	"context"
	"errors"
	"fmt"
	"io"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/authz/signerauthz"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "ClusterTrustBundleAttest"

var clusterTrustBundles = certificatesv1.Resource("clustertrustbundles")

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin checks the attest permission of ClusterTrustBundle writers.
type Plugin struct {
	signerauthz.Plugin
}

var (
	_ admission.ValidationInterface     = (*Plugin)(nil)
	_ admission.InitializationValidator = (*Plugin)(nil)
	_ initializer.WantsAuthorizer       = (*Plugin)(nil)
)

// New returns the plugin, which handles creates and updates.
func New() *Plugin {
	return &Plugin{Plugin: signerauthz.NewPlugin(PluginName, admission.Create, admission.Update)}
}

// Validate refuses a ClusterTrustBundle write with a signer name the user
// may not attest for. The new object's signer is the one checked:
// validation keeps it from changing on update. Updates that change only
// what the garbage collector and storage migration write (owner
// references, finalizers, managed fields) are let through, as upstream.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != clusterTrustBundles || a.GetSubresource() != "" {
		return nil
	}
	bundle, ok := a.GetObject().(*certificatesv1.ClusterTrustBundle)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("expected type ClusterTrustBundle, got: %T", a.GetObject()))
	}
	if bundle.Spec.SignerName == "" {
		return nil
	}
	if a.GetOperation() == admission.Update && onlyGCFieldsChanged(a.GetObject(), a.GetOldObject()) {
		return nil
	}
	if !p.Allowed(ctx, a.GetUserInfo(), "attest", bundle.Spec.SignerName) {
		klog.V(4).InfoS("User may not attest for the ClusterTrustBundle's signer", "clusterTrustBundle", bundle.Name, "signerName", bundle.Spec.SignerName, "user", a.GetUserInfo().GetName())
		return admission.NewForbidden(a, fmt.Errorf("user not permitted to attest for signerName %q", bundle.Spec.SignerName))
	}
	return nil
}

// onlyGCFieldsChanged says whether obj differs from old at most in owner
// references, finalizers, self link and managed fields (upstream's
// rbac.IsOnlyMutatingGCFields).
func onlyGCFieldsChanged(obj, old runtime.Object) bool {
	if old == nil {
		return false
	}
	copied := obj.DeepCopyObject()
	copiedMeta, err1 := meta.Accessor(copied)
	oldMeta, err2 := meta.Accessor(old)
	if err := errors.Join(err1, err2); err != nil {
		return false
	}
	copiedMeta.SetOwnerReferences(oldMeta.GetOwnerReferences())
	copiedMeta.SetFinalizers(oldMeta.GetFinalizers())
	copiedMeta.SetSelfLink(oldMeta.GetSelfLink())
	copiedMeta.SetManagedFields(oldMeta.GetManagedFields())
	return apiequality.Semantic.DeepEqual(copied, old)
}
