package limitranger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

const (
	// PluginName is the name the plugin is registered and enabled under.
	PluginName = "LimitRanger"

	// Annotation records on a pod which defaults the plugin set.
	Annotation = "kubernetes.io/limit-ranger"

	// liveLookupTTL is how long a live list of a namespace's LimitRanges,
	// made while the informer showed none, is reused.
	liveLookupTTL = 30 * time.Second
)

var (
	podKind = schema.GroupKind{Kind: "Pod"}
	pvcKind = schema.GroupKind{Kind: "PersistentVolumeClaim"}
)

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin applies LimitRanges to pods and claims.
type Plugin struct {
	*admission.Handler
	client kubernetes.Interface
	lister corev1listers.LimitRangeLister
	now    func() time.Time

	mu   sync.Mutex
	live map[string]liveEntry
}

type liveEntry struct {
	expiry time.Time
	items  []*corev1.LimitRange
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet       = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
)

// New returns the plugin, which handles creates and updates.
func New() *Plugin {
	return &Plugin{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		now:     time.Now,
		live:    map[string]liveEntry{},
	}
}

// SetExternalKubeClientSet sets the client for live lookups.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) { p.client = c }

// SetExternalKubeInformerFactory takes the LimitRange lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	ranges := f.Core().V1().LimitRanges()
	p.lister = ranges.Lister()
	p.SetReadyFunc(ranges.Informer().HasSynced)
}

// ValidateInitialization reports a missing lister or client.
func (p *Plugin) ValidateInitialization() error {
	if p.lister == nil {
		return errors.New("missing limitRange lister")
	}
	if p.client == nil {
		return errors.New("missing client")
	}
	return nil
}

// Admit applies the Container defaults of each LimitRange to a new pod.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	return p.run(ctx, a, func(lr *corev1.LimitRange) error {
		if pod, ok := a.GetObject().(*corev1.Pod); ok {
			applyDefaults(lr, pod)
		}
		return nil
	})
}

// Validate checks a pod or claim against each LimitRange's bounds.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	return p.run(ctx, a, func(lr *corev1.LimitRange) error {
		switch obj := a.GetObject().(type) {
		case *corev1.Pod:
			return validatePod(lr, obj)
		case *corev1.PersistentVolumeClaim:
			return validateClaim(lr, obj)
		}
		return nil
	})
}

// handles reports pod creates and claim creates and updates; pod
// containers are immutable, so pod updates are not checked.
func handles(a admission.Attributes) bool {
	if a.GetSubresource() != "" {
		return false
	}
	switch a.GetKind().GroupKind() {
	case podKind:
		return a.GetOperation() == admission.Create
	case pvcKind:
		return true
	}
	return false
}

func (p *Plugin) run(ctx context.Context, a admission.Attributes, fn func(*corev1.LimitRange) error) error {
	if !handles(a) {
		return nil
	}
	if old := a.GetOldObject(); old != nil {
		acc, err := meta.Accessor(old)
		if err != nil {
			return admission.NewForbidden(a, err)
		}
		// Objects being deleted only drop finalizers; leave them be.
		if acc.GetDeletionTimestamp() != nil {
			return nil
		}
	}
	ranges, err := p.limitRanges(ctx, a)
	if err != nil {
		return err
	}
	for _, lr := range ranges {
		if err := fn(lr); err != nil {
			return admission.NewForbidden(a, err)
		}
	}
	return nil
}

// limitRanges lists the namespace's LimitRanges from the informer; when it
// shows none, a live list (cached for liveLookupTTL) covers ranges just
// created.
func (p *Plugin) limitRanges(ctx context.Context, a admission.Attributes) ([]*corev1.LimitRange, error) {
	ns := a.GetNamespace()
	items, err := p.lister.LimitRanges(ns).List(labels.Everything())
	if err != nil {
		return nil, admission.NewForbidden(a, fmt.Errorf("unable to %s %v at this time because there was an error enforcing limit ranges", a.GetOperation(), a.GetResource()))
	}
	if len(items) > 0 {
		return items, nil
	}
	p.mu.Lock()
	entry, ok := p.live[ns]
	p.mu.Unlock()
	if ok && entry.expiry.After(p.now()) {
		return entry.items, nil
	}
	list, err := p.client.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, admission.NewForbidden(a, err)
	}
	entry = liveEntry{expiry: p.now().Add(liveLookupTTL)}
	for i := range list.Items {
		entry.items = append(entry.items, &list.Items[i])
	}
	p.mu.Lock()
	p.live[ns] = entry
	for k, e := range p.live { // forget expired namespaces
		if !e.expiry.After(p.now()) {
			delete(p.live, k)
		}
	}
	p.mu.Unlock()
	return entry.items, nil
}
