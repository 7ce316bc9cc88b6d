package namespace

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	storageerr "k8s.io/apiserver/pkg/storage/errors"

	"github.com/skiff-dev/skiff/apiserver/registry"
	corevalidation "github.com/skiff-dev/skiff/apiserver/validation/core"
)

var resource = corev1.Resource("namespaces")

// Definition declares namespaces.
func Definition(tables rest.TableConvertor) *registry.Definition[*corev1.Namespace] {
	return &registry.Definition[*corev1.Namespace]{
		GroupVersion: corev1.SchemeGroupVersion,
		Resource:     "namespaces", Singular: "namespace", Kind: "Namespace",
		ShortNames: []string{"ns"},
		New:        func() *corev1.Namespace { return &corev1.Namespace{} },
		NewList:    func() runtime.Object { return &corev1.NamespaceList{} },
		PrepareForCreate: func(ctx context.Context, ns *corev1.Namespace) {
			ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
			if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
				ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
			}
		},
		PrepareForUpdate: func(ctx context.Context, ns, old *corev1.Namespace) {
			// spec.finalizers changes only through /finalize.
			ns.Spec.Finalizers = old.Spec.Finalizers
		},
		Validate:       corevalidation.ValidateNamespace,
		ValidateUpdate: corevalidation.ValidateNamespaceUpdate,
		Status:         &registry.Status[*corev1.Namespace]{ValidateUpdate: corevalidation.ValidateNamespaceStatusUpdate},
		Fields: func(ns *corev1.Namespace) fields.Set {
			return fields.Set{"status.phase": string(ns.Status.Phase)}
		},
		FieldLabels:    []string{"status.phase"},
		TableConvertor: tables,
		// A terminating namespace goes away on update (of the namespace, its
		// status or its finalize subresource) only once both its metadata and
		// its spec finalizers are empty.
		KeepDuringUpdate: func(ns *corev1.Namespace) bool { return len(ns.Spec.Finalizers) > 0 },
		Extend: func(main *registry.REST, storages map[string]rest.Storage) error {
			finalizeStore := *main.Store
			finalizeStore.UpdateStrategy = finalizeStrategy{main.Store.UpdateStrategy}
			storages["namespaces"] = &REST{REST: main}
			storages["namespaces/finalize"] = registry.NewSubresourceREST(&finalizeStore)
			return nil
		},
	}
}

// finalizeStrategy updates only spec.finalizers (and metadata), for the
// namespace controller's /finalize calls.
type finalizeStrategy struct {
	rest.RESTUpdateStrategy
}

func (finalizeStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	obj.(*corev1.Namespace).Status = old.(*corev1.Namespace).Status
}

func (finalizeStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return corevalidation.ValidateNamespaceFinalizeUpdate(obj.(*corev1.Namespace), old.(*corev1.Namespace))
}

// REST is the namespaces storage with upstream's two-phase delete.
type REST struct {
	*registry.REST
}

// Delete marks the namespace Terminating on the first call; once
// spec.finalizers is empty, a later call removes it.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options == nil {
		options = metav1.NewDeleteOptions(0)
	}
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	if options.Preconditions.UID == nil {
		options.Preconditions.UID = &ns.UID
	} else if *options.Preconditions.UID != ns.UID {
		return nil, false, apierrors.NewConflict(resource, name,
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *options.Preconditions.UID, ns.UID))
	}
	if options.Preconditions.ResourceVersion != nil && *options.Preconditions.ResourceVersion != ns.ResourceVersion {
		return nil, false, apierrors.NewConflict(resource, name,
			fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *options.Preconditions.ResourceVersion, ns.ResourceVersion))
	}

	if ns.DeletionTimestamp.IsZero() {
		if err := deleteValidation(ctx, ns); err != nil {
			return nil, false, err
		}
		if dryRun(options) {
			out := ns.DeepCopy()
			markTerminating(out, options)
			return out, false, nil
		}
		key, err := r.Store.KeyFunc(ctx, name)
		if err != nil {
			return nil, false, err
		}
		out := r.Store.NewFunc()
		err = r.Store.Storage.GuaranteedUpdate(ctx, key, out, false, &storage.Preconditions{UID: options.Preconditions.UID},
			storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
				current, ok := existing.(*corev1.Namespace)
				if !ok {
					return nil, fmt.Errorf("expected *corev1.Namespace, got %T", existing)
				}
				markTerminating(current, options)
				return current, nil
			}), dryRun(options), nil)
		if err != nil {
			err = storageerr.InterpretGetError(err, resource, name)
			err = storageerr.InterpretUpdateError(err, resource, name)
			if _, ok := err.(*apierrors.StatusError); !ok {
				err = apierrors.NewInternalError(err)
			}
			return nil, false, err
		}
		return out, false, nil
	}

	if len(ns.Spec.Finalizers) != 0 {
		return nil, false, apierrors.NewConflict(resource, name,
			fmt.Errorf("The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."))
	}
	return r.REST.Delete(ctx, name, deleteValidation, options)
}

func markTerminating(ns *corev1.Namespace, options *metav1.DeleteOptions) {
	if ns.DeletionTimestamp.IsZero() {
		now := metav1.Now()
		ns.DeletionTimestamp = &now
	}
	ns.Status.Phase = corev1.NamespaceTerminating
	if options.OrphanDependents != nil && !*options.OrphanDependents {
		ns.Finalizers = slices.DeleteFunc(ns.Finalizers, func(f string) bool { return f == metav1.FinalizerOrphanDependents })
	}
}

func dryRun(options *metav1.DeleteOptions) bool { return len(options.DryRun) > 0 }
