package defaultstorageclass

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	storagev1listers "k8s.io/client-go/listers/storage/v1"
	"k8s.io/klog/v2"
)

const (
	// PluginName is the name the plugin is registered and enabled under.
	PluginName = "DefaultStorageClass"

	// IsDefaultAnnotation marks the default StorageClass.
	IsDefaultAnnotation = "storageclass.kubernetes.io/is-default-class"
	// BetaIsDefaultAnnotation is the deprecated form of IsDefaultAnnotation.
	BetaIsDefaultAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
	// BetaStorageClassAnnotation names a claim's class before
	// spec.storageClassName existed.
	BetaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"
)

var pvcResource = schema.GroupResource{Resource: "persistentvolumeclaims"}

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin defaults the storage class of new claims.
type Plugin struct {
	*admission.Handler
	lister storagev1listers.StorageClassLister
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
)

// New returns the plugin, which handles claim creates.
func New() *Plugin { return &Plugin{Handler: admission.NewHandler(admission.Create)} }

// SetExternalKubeInformerFactory takes the StorageClass lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	classes := f.Storage().V1().StorageClasses()
	p.lister = classes.Lister()
	p.SetReadyFunc(classes.Informer().HasSynced)
}

// ValidateInitialization reports a missing lister.
func (p *Plugin) ValidateInitialization() error {
	if p.lister == nil {
		return errors.New("missing lister")
	}
	return nil
}

// Admit sets spec.storageClassName of a claim that names no class, neither
// in the field nor in the beta annotation, to the default class, if any.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != pvcResource || a.GetSubresource() != "" {
		return nil
	}
	pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	if pvc.Spec.StorageClassName != nil {
		return nil
	}
	if _, ok := pvc.Annotations[BetaStorageClassAnnotation]; ok {
		return nil
	}
	def, err := DefaultClass(p.lister)
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if def == nil {
		return nil
	}
	klog.FromContext(ctx).V(1).Info("Defaulting storage class of claim", "namespace", a.GetNamespace(), "claim", pvc.Name, "storageClass", def.Name)
	name := def.Name
	pvc.Spec.StorageClassName = &name
	return nil
}

// DefaultClass returns the default StorageClass: of those annotated
// default, the newest, ties broken by name; nil when none is.
func DefaultClass(lister storagev1listers.StorageClassLister) (*storagev1.StorageClass, error) {
	all, err := lister.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list storage classes: %w", err)
	}
	var defaults []*storagev1.StorageClass
	for _, c := range all {
		if c.Annotations[IsDefaultAnnotation] == "true" || c.Annotations[BetaIsDefaultAnnotation] == "true" {
			defaults = append(defaults, c)
		}
	}
	if len(defaults) == 0 {
		return nil, nil
	}
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].CreationTimestamp.UnixNano(), defaults[j].CreationTimestamp.UnixNano()
		if ti == tj {
			return defaults[i].Name < defaults[j].Name
		}
		return ti > tj
	})
	return defaults[0], nil
}
