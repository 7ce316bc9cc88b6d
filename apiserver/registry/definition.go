package registry

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Object is a pointer to a k8s.io/api struct with ObjectMeta.
type Object interface {
	runtime.Object
	metav1.Object
}

// Definition declares one stored resource of Go type T (a pointer type such
// as *corev1.ConfigMap). Only Resource, Kind, New and NewList are required;
// every hook is optional.
type Definition[T Object] struct {
	// GroupVersion is the external version the resource is served at.
	GroupVersion schema.GroupVersion
	// Resource is the plural lower-case name ("configmaps"); Singular the
	// singular one ("configmap"); Kind the Go kind ("ConfigMap").
	Resource, Singular, Kind string
	// Namespaced says whether objects live in a namespace.
	Namespaced bool
	// ShortNames and Categories appear in discovery (`kubectl get cm`,
	// `kubectl get all`).
	ShortNames, Categories []string

	New     func() T
	NewList func() runtime.Object

	// PrepareForCreate and PrepareForUpdate normalise an object before
	// validation (clear status on create, keep immutable system fields).
	PrepareForCreate func(ctx context.Context, obj T)
	PrepareForUpdate func(ctx context.Context, obj, old T)
	// Validate and ValidateUpdate return the object's validation errors,
	// including its metadata's.
	Validate       func(obj T) field.ErrorList
	ValidateUpdate func(obj, old T) field.ErrorList
	// Generation makes metadata.generation start at 1 and grow by one on
	// every update that changes anything but metadata and status.
	Generation bool

	// Status, when set, serves a status subresource: the main resource then
	// ignores changes to .status, and <resource>/status ignores changes to
	// everything else.
	Status *Status[T]
	// Scale, when set, serves <resource>/scale as an autoscaling/v1 Scale.
	Scale *Scale[T]
	// StatusLike are further subresources that, like status, write part of
	// the status only (certificatesigningrequests/approval), by name.
	StatusLike map[string]*Status[T]

	// Fields returns the type's selectable fields beyond metadata.name and
	// metadata.namespace; FieldLabels lists their names (for the field-label
	// conversion the scheme needs to accept them in field selectors).
	Fields      func(obj T) fields.Set
	FieldLabels []string
	// FieldLabelAliases maps field labels of this version to the Fields key
	// they select, where the served version names a field otherwise than the
	// internal one (events.k8s.io's regarding.kind is involvedObject.kind).
	FieldLabelAliases map[string]string
	// Indexed lists Fields keys the watch cache indexes, so that watches and
	// lists selecting on them (pods by spec.nodeName, as every kubelet asks)
	// don't scan every object.
	Indexed []string

	// GracefulDelete, when set, makes deletion graceful: it returns whether
	// the object gets a deletion grace period, which it sets in options
	// (pods take their termination grace period to stop).
	GracefulDelete func(ctx context.Context, obj T, options *metav1.DeleteOptions) bool

	// TTL, when set, makes stored objects expire (as Events do).
	TTL func(obj T, existing uint64, update bool) (uint64, error)
	// KeepDuringUpdate, when set, is asked before an update (through the
	// main resource or any status subresource) deletes an object that has a
	// deletionTimestamp and no finalizers left, as the generic store does: it
	// returns true to keep it (a namespace with spec.finalizers).
	KeepDuringUpdate func(obj T) bool

	// AllowCreateOnUpdate lets a PUT create a missing object (Leases, Events).
	AllowCreateOnUpdate bool

	// TableConvertor prints the resource for `kubectl get`; nil means
	// NAME and CREATED AT only.
	TableConvertor rest.TableConvertor

	// Extend, when set, adapts the built storage for behaviour beyond the
	// generic store (namespaces' two-phase delete and /finalize): it may
	// replace or add entries of storages, which holds the main resource and
	// its status subresource under their APIGroupInfo keys.
	Extend func(main *REST, storages map[string]rest.Storage) error
}

// Status configures a status subresource.
type Status[T Object] struct {
	// KeepOnCreate keeps the status a client creates the object with
	// (nodes register with theirs); otherwise create clears it.
	KeepOnCreate bool
	// MetadataWritable lets a status write change labels, annotations and
	// the rest of metadata too, as upstream's nodes/status does (kubelets
	// fix their node's labels through it); otherwise only status changes.
	MetadataWritable bool
	// PrepareForUpdate, when set, narrows a status write further once
	// everything but the status has been reset to old's (a CSR's approval
	// conditions change only through /approval).
	PrepareForUpdate func(ctx context.Context, obj, old T)
	// ValidateUpdate validates a write through <resource>/status.
	ValidateUpdate func(obj, old T) field.ErrorList
}

// GroupResource returns the definition's group and resource.
func (d *Definition[T]) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: d.GroupVersion.Group, Resource: d.Resource}
}

// GroupVersionKind returns the definition's external kind.
func (d *Definition[T]) GroupVersionKind() schema.GroupVersionKind {
	return d.GroupVersion.WithKind(d.Kind)
}

func (d *Definition[T]) attrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	o, ok := obj.(T)
	if !ok {
		return nil, nil, fmt.Errorf("%s: unexpected object type %T", d.Resource, obj)
	}
	set := generic.ObjectMetaFieldsSet(objectMeta(o), d.Namespaced)
	if d.Fields != nil {
		for k, v := range d.Fields(o) {
			set[k] = v
		}
	}
	return o.GetLabels(), set, nil
}

// objectMeta returns a copy of obj's metadata fields that field selectors use.
func objectMeta(obj metav1.Object) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace()}
}

// AddFieldLabelConversions registers, on s, the field labels the definition
// supports in field selectors, as upstream's per-kind conversion functions do.
func (d *Definition[T]) AddFieldLabelConversions(s *runtime.Scheme) error {
	allowed := map[string]string{"metadata.name": "metadata.name"}
	if d.Namespaced {
		allowed["metadata.namespace"] = "metadata.namespace"
	}
	for _, l := range d.FieldLabels {
		allowed[l] = l
	}
	for l, to := range d.FieldLabelAliases {
		allowed[l] = to
	}
	return s.AddFieldLabelConversionFunc(d.GroupVersionKind(), func(label, value string) (string, string, error) {
		if to, ok := allowed[label]; ok {
			return to, value, nil
		}
		return "", "", fmt.Errorf("field label not supported: %s", label)
	})
}
