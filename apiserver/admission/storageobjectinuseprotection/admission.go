package storageobjectinuseprotection

import (
	"context"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
)

const (
	// PluginName is the name the plugin is registered and enabled under.
	PluginName = "StorageObjectInUseProtection"

	// PVProtectionFinalizer guards persistent volumes bound to a claim.
	PVProtectionFinalizer = "kubernetes.io/pv-protection"
	// PVCProtectionFinalizer guards claims used by pods.
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
	// VACProtectionFinalizer guards volume attributes classes in use.
	VACProtectionFinalizer = "kubernetes.io/vac-protection"
)

// finalizers maps each protected resource to its finalizer.
var finalizers = map[schema.GroupResource]string{
	{Resource: "persistentvolumes"}:                                PVProtectionFinalizer,
	{Resource: "persistentvolumeclaims"}:                           PVCProtectionFinalizer,
	{Group: "storage.k8s.io", Resource: "volumeattributesclasses"}: VACProtectionFinalizer,
}

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin adds protection finalizers on create.
type Plugin struct{ *admission.Handler }

var _ admission.MutationInterface = (*Plugin)(nil)

// New returns the plugin, which handles creates.
func New() *Plugin { return &Plugin{Handler: admission.NewHandler(admission.Create)} }

// Admit appends the resource's protection finalizer unless present.
func (p *Plugin) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	finalizer, ok := finalizers[a.GetResource().GroupResource()]
	if !ok || a.GetSubresource() != "" {
		return nil
	}
	obj, err := meta.Accessor(a.GetObject())
	if err != nil {
		return nil
	}
	if f := obj.GetFinalizers(); !slices.Contains(f, finalizer) {
		obj.SetFinalizers(append(f, finalizer))
	}
	return nil
}
