package defaults

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultTokenSeconds is the lifetime of a requested token that names none.
const defaultTokenSeconds = 60 * 60

// addCoreDefaults registers upstream's defaults for the core/v1 kinds
// Namespace, ConfigMap and Secret and their lists (ServiceAccount and Event
// have none), and for TokenRequest, the body of the core resource
// serviceaccounts/token.
func addCoreDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&corev1.Namespace{}, func(o interface{}) { defaultNamespace(o.(*corev1.Namespace)) })
	s.AddTypeDefaultingFunc(&corev1.NamespaceList{}, func(o interface{}) {
		l := o.(*corev1.NamespaceList)
		for i := range l.Items {
			defaultNamespace(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&corev1.ConfigMap{}, func(o interface{}) { defaultConfigMap(o.(*corev1.ConfigMap)) })
	s.AddTypeDefaultingFunc(&corev1.ConfigMapList{}, func(o interface{}) {
		l := o.(*corev1.ConfigMapList)
		for i := range l.Items {
			defaultConfigMap(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&corev1.Secret{}, func(o interface{}) { defaultSecret(o.(*corev1.Secret)) })
	s.AddTypeDefaultingFunc(&corev1.SecretList{}, func(o interface{}) {
		l := o.(*corev1.SecretList)
		for i := range l.Items {
			defaultSecret(&l.Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&authenticationv1.TokenRequest{}, func(o interface{}) {
		r := o.(*authenticationv1.TokenRequest)
		if r.Spec.ExpirationSeconds == nil {
			seconds := int64(defaultTokenSeconds)
			r.Spec.ExpirationSeconds = &seconds
		}
	})
}

// defaultNamespace labels a named namespace with its name (a namespace
// created with generateName gets the label from its strategy once named)
// and sets an unset phase to Active.
func defaultNamespace(ns *corev1.Namespace) {
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

func defaultConfigMap(cm *corev1.ConfigMap) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
}

// defaultSecret sets an unset type to Opaque and merges stringData into
// data, overwriting equal keys. The merge is upstream's conversion from
// v1 to its internal type, which happens on every decode, so stringData is
// write-only: it is never stored nor returned.
func defaultSecret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) == 0 {
		return
	}
	if s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
