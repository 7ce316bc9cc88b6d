package core

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/core/namespace"
	corevalidation "github.com/skiff-dev/skiff/apiserver/validation/core"
)

// Config is what the core resources need of the server.
type Config struct {
	// EventTTL is how long Events are kept (--event-ttl).
	EventTTL time.Duration
	// Tables returns the `kubectl get` columns of a resource, or nil.
	Tables func(schema.GroupResource) rest.TableConvertor
}

// Resources returns the stored core/v1 resources.
func Resources(c Config) []registry.Resource {
	gv := corev1.SchemeGroupVersion
	tables := func(r string) rest.TableConvertor { return c.Tables(corev1.Resource(r)) }
	return []registry.Resource{
		namespace.Definition(tables("namespaces")),
		&registry.Definition[*corev1.ConfigMap]{
			GroupVersion: gv, Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap", Namespaced: true,
			ShortNames:     []string{"cm"},
			New:            func() *corev1.ConfigMap { return &corev1.ConfigMap{} },
			NewList:        func() runtime.Object { return &corev1.ConfigMapList{} },
			Validate:       corevalidation.ValidateConfigMap,
			ValidateUpdate: corevalidation.ValidateConfigMapUpdate,
			TableConvertor: tables("configmaps"),
		},
		&registry.Definition[*corev1.Secret]{
			GroupVersion: gv, Resource: "secrets", Singular: "secret", Kind: "Secret", Namespaced: true,
			New:            func() *corev1.Secret { return &corev1.Secret{} },
			NewList:        func() runtime.Object { return &corev1.SecretList{} },
			Validate:       corevalidation.ValidateSecret,
			ValidateUpdate: corevalidation.ValidateSecretUpdate,
			Fields:         func(s *corev1.Secret) fields.Set { return fields.Set{"type": string(s.Type)} },
			FieldLabels:    []string{"type"},
			TableConvertor: tables("secrets"),
		},
		&registry.Definition[*corev1.ServiceAccount]{
			GroupVersion: gv, Resource: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", Namespaced: true,
			ShortNames:     []string{"sa"},
			New:            func() *corev1.ServiceAccount { return &corev1.ServiceAccount{} },
			NewList:        func() runtime.Object { return &corev1.ServiceAccountList{} },
			Validate:       corevalidation.ValidateServiceAccount,
			ValidateUpdate: corevalidation.ValidateServiceAccountUpdate,
			TableConvertor: tables("serviceaccounts"),
		},
		&registry.Definition[*corev1.Event]{
			GroupVersion: gv, Resource: "events", Singular: "event", Kind: "Event", Namespaced: true,
			ShortNames:          []string{"ev"},
			New:                 func() *corev1.Event { return &corev1.Event{} },
			NewList:             func() runtime.Object { return &corev1.EventList{} },
			Validate:            corevalidation.ValidateEvent,
			ValidateUpdate:      corevalidation.ValidateEventUpdate,
			AllowCreateOnUpdate: true,
			Fields:              EventFields,
			FieldLabels: []string{
				"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
				"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
				"reason", "reportingComponent", "source", "type",
			},
			TTL: func(*corev1.Event, uint64, bool) (uint64, error) {
				return uint64(c.EventTTL.Seconds()), nil
			},
			TableConvertor: tables("events"),
		},
	}
}

// EventFields are the selectable fields of a core/v1 Event, as upstream's
// event strategy exposes them.
func EventFields(e *corev1.Event) fields.Set {
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}
