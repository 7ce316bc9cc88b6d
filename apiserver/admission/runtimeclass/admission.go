package runtimeclass

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	nodev1listers "k8s.io/client-go/listers/node/v1"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "RuntimeClass"

var podsResource = schema.GroupResource{Resource: "pods"}

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin applies and checks RuntimeClass overhead and scheduling.
type Plugin struct {
	*admission.Handler
	lister nodev1listers.RuntimeClassLister
	client kubernetes.Interface
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet       = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
)

// New returns the plugin, which handles pod creates.
func New() *Plugin { return &Plugin{Handler: admission.NewHandler(admission.Create)} }

// SetExternalKubeClientSet sets the client for live lookups.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) { p.client = c }

// SetExternalKubeInformerFactory takes the RuntimeClass lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	classes := f.Node().V1().RuntimeClasses()
	p.lister = classes.Lister()
	p.SetReadyFunc(classes.Informer().HasSynced)
}

// ValidateInitialization reports a missing lister or client.
func (p *Plugin) ValidateInitialization() error {
	if p.lister == nil {
		return errors.New("missing RuntimeClass lister")
	}
	if p.client == nil {
		return errors.New("missing RuntimeClass client")
	}
	return nil
}

// Admit copies the class's overhead into a pod without one and merges the
// class's node selector and tolerations into the pod.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pod, rc, err := p.lookup(ctx, a)
	if err != nil || rc == nil {
		return err
	}
	if rc.Overhead != nil {
		if len(pod.Spec.Overhead) > 0 && !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return admission.NewForbidden(a, errors.New("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"))
		}
		pod.Spec.Overhead = rc.Overhead.PodFixed.DeepCopy()
	}
	if rc.Scheduling == nil {
		return nil
	}
	if pod.Spec.NodeSelector == nil && rc.Scheduling.NodeSelector != nil {
		pod.Spec.NodeSelector = map[string]string{}
	}
	for k, v := range rc.Scheduling.NodeSelector {
		if have, ok := pod.Spec.NodeSelector[k]; ok && have != v {
			return admission.NewForbidden(a, fmt.Errorf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", k, v, k, have))
		}
		pod.Spec.NodeSelector[k] = v
	}
	pod.Spec.Tolerations = mergeTolerations(pod.Spec.Tolerations, rc.Scheduling.Tolerations)
	return nil
}

// Validate rejects a pod whose overhead differs from its class's, or that
// sets overhead its class (or its lack of one) does not define.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pod, rc, err := p.lookup(ctx, a)
	if err != nil || pod == nil {
		return err
	}
	if rc != nil && rc.Overhead != nil {
		if !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return admission.NewForbidden(a, errors.New("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"))
		}
		return nil
	}
	if pod.Spec.Overhead != nil {
		return admission.NewForbidden(a, errors.New("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"))
	}
	return nil
}

// lookup returns the admitted pod (nil when the request is not a pod
// create) and its RuntimeClass (nil when it names none).
func (p *Plugin) lookup(ctx context.Context, a admission.Attributes) (*corev1.Pod, *nodev1.RuntimeClass, error) {
	if a.GetSubresource() != "" || a.GetResource().GroupResource() != podsResource {
		return nil, nil, nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return nil, nil, apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	if pod.Spec.RuntimeClassName == nil {
		return pod, nil, nil
	}
	name := *pod.Spec.RuntimeClassName
	rc, err := p.lister.Get(name)
	if apierrors.IsNotFound(err) {
		// The informer may lag behind a class just created.
		rc, err = p.client.NodeV1().RuntimeClasses().Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return pod, nil, admission.NewForbidden(a, fmt.Errorf("pod rejected: RuntimeClass %q not found", name))
	}
	if err != nil {
		return pod, nil, fmt.Errorf("get RuntimeClass %q: %w", name, err)
	}
	return pod, rc, nil
}

// mergeTolerations adds to have each toleration of add that no toleration
// already present covers, and drops present ones an added toleration
// covers.
func mergeTolerations(have, add []corev1.Toleration) []corev1.Toleration {
	if len(add) == 0 {
		return have
	}
	out := make([]corev1.Toleration, 0, len(have)+len(add))
	for _, h := range have {
		if !strictlyCoveredBy(h, add) {
			out = append(out, h)
		}
	}
	for i, t := range add {
		if !coveredBy(t, out) && !coveredBy(t, add[:i]) {
			out = append(out, t)
		}
	}
	return out
}

// coveredBy reports whether one of others tolerates everything t does.
func coveredBy(t corev1.Toleration, others []corev1.Toleration) bool {
	for _, o := range others {
		if superset(o, t) {
			return true
		}
	}
	return false
}

// strictlyCoveredBy reports whether one of others tolerates more than t.
func strictlyCoveredBy(t corev1.Toleration, others []corev1.Toleration) bool {
	for _, o := range others {
		if superset(o, t) && !apiequality.Semantic.DeepEqual(o, t) {
			return true
		}
	}
	return false
}

// superset reports whether toleration a tolerates every taint b does.
func superset(a, b corev1.Toleration) bool {
	if apiequality.Semantic.DeepEqual(a, b) {
		return true
	}
	if a.Key != "" && a.Key != b.Key {
		return false
	}
	if a.Effect != "" && a.Effect != b.Effect {
		return false
	}
	if a.Key == "" && a.Operator != corev1.TolerationOpExists {
		return false
	}
	if a.Operator != corev1.TolerationOpExists && (b.Operator == corev1.TolerationOpExists || a.Value != b.Value) {
		return false
	}
	if b.TolerationSeconds == nil {
		return a.TolerationSeconds == nil
	}
	return a.TolerationSeconds == nil || *a.TolerationSeconds >= *b.TolerationSeconds
}
