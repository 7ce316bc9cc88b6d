package defaultingressclass

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	networkingv1listers "k8s.io/client-go/listers/networking/v1"
	"k8s.io/klog/v2"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "DefaultIngressClass"

var ingressResource = schema.GroupResource{Group: networkingv1.GroupName, Resource: "ingresses"}

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin defaults the class of new Ingresses.
type Plugin struct {
	*admission.Handler
	lister networkingv1listers.IngressClassLister
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
)

// New returns the plugin, which handles Ingress creates.
func New() *Plugin { return &Plugin{Handler: admission.NewHandler(admission.Create)} }

// SetExternalKubeInformerFactory takes the IngressClass lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	classes := f.Networking().V1().IngressClasses()
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

// Admit sets spec.ingressClassName of an Ingress that names no class to
// the default class, if there is one.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != ingressResource || a.GetSubresource() != "" {
		return nil
	}
	ing, ok := a.GetObject().(*networkingv1.Ingress)
	if !ok {
		return nil
	}
	if ing.Spec.IngressClassName != nil {
		return nil
	}
	if _, ok := ing.Annotations[networkingv1beta1.AnnotationIngressClass]; ok {
		return nil
	}
	def, err := DefaultClass(p.lister)
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if def == nil {
		return nil
	}
	klog.FromContext(ctx).V(1).Info("Defaulting class of Ingress", "namespace", a.GetNamespace(), "ingress", ing.Name, "ingressClass", def.Name)
	name := def.Name
	ing.Spec.IngressClassName = &name
	return nil
}

// DefaultClass returns the default IngressClass: of those annotated
// default, the newest, ties broken by name; nil when none is.
func DefaultClass(lister networkingv1listers.IngressClassLister) (*networkingv1.IngressClass, error) {
	all, err := lister.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list ingress classes: %w", err)
	}
	var defaults []*networkingv1.IngressClass
	for _, c := range all {
		if c.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
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
