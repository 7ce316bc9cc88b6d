package persistentvolumeclaimresize

import (
	"context"
	"errors"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	storagev1listers "k8s.io/client-go/listers/storage/v1"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "PersistentVolumeClaimResize"

var pvcResource = schema.GroupResource{Resource: "persistentvolumeclaims"}

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin checks that a claim being grown may be expanded.
type Plugin struct {
	*admission.Handler
	lister storagev1listers.StorageClassLister
}

var (
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
)

// New returns the plugin, which handles updates.
func New() *Plugin { return &Plugin{Handler: admission.NewHandler(admission.Update)} }

// SetExternalKubeInformerFactory takes the StorageClass lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	classes := f.Storage().V1().StorageClasses()
	p.lister = classes.Lister()
	p.SetReadyFunc(classes.Informer().HasSynced)
}

// ValidateInitialization reports a missing lister.
func (p *Plugin) ValidateInitialization() error {
	if p.lister == nil {
		return errors.New("missing storageclass lister")
	}
	return nil
}

// Validate forbids an update of a claim (not of its subresources) that
// grows its storage request, unless the claim is bound and its class
// allows expansion.
func (p *Plugin) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != pvcResource || a.GetSubresource() != "" {
		return nil
	}
	pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	oldPVC, ok := a.GetOldObject().(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	oldSize := oldPVC.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) <= 0 {
		return nil
	}
	if oldPVC.Status.Phase != corev1.ClaimBound {
		return admission.NewForbidden(a, errors.New("Only bound persistent volume claims can be expanded"))
	}
	if !p.allowResize(pvc, oldPVC) {
		return admission.NewForbidden(a, errors.New("only dynamically provisioned pvc can be resized and "+
			"the storageclass that provisions the pvc must support resize"))
	}
	return nil
}

// allowResize reports whether both versions of the claim name the same
// class and that class has allowVolumeExpansion: true.
func (p *Plugin) allowResize(pvc, oldPVC *corev1.PersistentVolumeClaim) bool {
	class, oldClass := claimClass(pvc), claimClass(oldPVC)
	if class == "" || oldClass == "" || class != oldClass {
		return false
	}
	sc, err := p.lister.Get(class)
	if err != nil {
		return false
	}
	return sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
}

// claimClass is the claim's StorageClass name: the beta annotation if
// present, else spec.storageClassName, as upstream's
// GetPersistentVolumeClaimClass.
func claimClass(pvc *corev1.PersistentVolumeClaim) string {
	if class, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		return class
	}
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return ""
}
