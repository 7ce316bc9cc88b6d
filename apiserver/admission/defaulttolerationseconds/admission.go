package defaulttolerationseconds

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
)

const (
	// PluginName is the name the plugin is registered and enabled under.
	PluginName = "DefaultTolerationSeconds"

	// DefaultSeconds is kube-apiserver's default for both
	// --default-not-ready-toleration-seconds and
	// --default-unreachable-toleration-seconds.
	DefaultSeconds int64 = 300
)

var podsResource = schema.GroupResource{Resource: "pods"}

// Register adds the plugin to plugins with the default 300 seconds.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(DefaultSeconds, DefaultSeconds), nil
	})
}

// Plugin adds the default not-ready and unreachable tolerations.
type Plugin struct {
	*admission.Handler
	notReady, unreachable corev1.Toleration
}

var _ admission.MutationInterface = (*Plugin)(nil)

// New returns the plugin tolerating not-ready nodes for notReadySeconds
// and unreachable nodes for unreachableSeconds, on pod creates and updates.
func New(notReadySeconds, unreachableSeconds int64) *Plugin {
	return &Plugin{
		Handler:     admission.NewHandler(admission.Create, admission.Update),
		notReady:    noExecute(corev1.TaintNodeNotReady, notReadySeconds),
		unreachable: noExecute(corev1.TaintNodeUnreachable, unreachableSeconds),
	}
}

func noExecute(key string, seconds int64) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds}
}

// Admit appends each default toleration the pod does not already cover
// (same key or any key, NoExecute or any effect).
func (p *Plugin) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != podsResource || a.GetSubresource() != "" {
		return nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest(fmt.Sprintf("expected *api.Pod but got %T", a.GetObject()))
	}
	for _, def := range []corev1.Toleration{p.notReady, p.unreachable} {
		if !covered(pod.Spec.Tolerations, def.Key) {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, *def.DeepCopy())
		}
	}
	return nil
}

func covered(tolerations []corev1.Toleration, key string) bool {
	for _, t := range tolerations {
		if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
			return true
		}
	}
	return false
}
