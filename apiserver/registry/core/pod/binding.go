package pod

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	storeerr "k8s.io/apiserver/pkg/storage/errors"
	"k8s.io/apiserver/pkg/util/dryrun"

	corevalidation "github.com/skiff-dev/skiff/apiserver/validation/core"
)

// BindingREST serves pods/binding: a POST of a Binding assigns the pod to
// the node it names, once, and marks the pod scheduled.
type BindingREST struct {
	store *genericregistry.Store
}

var (
	_ rest.NamedCreater                   = &BindingREST{}
	_ rest.SubresourceObjectMetaPreserver = &BindingREST{}
)

// New implements rest.Storage.
func (r *BindingREST) New() runtime.Object { return &corev1.Binding{} }

// Destroy implements rest.Storage; the pod storage owns the store.
func (r *BindingREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *BindingREST) NamespaceScoped() bool { return true }

// PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate keeps the
// Binding's uid and resourceVersion, the preconditions it carries.
func (r *BindingREST) PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() bool { return true }

// Create implements rest.NamedCreater.
func (r *BindingREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	binding, ok := obj.(*corev1.Binding)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Binding: %T", obj))
	}
	if name != binding.Name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Binding object")
	}
	if errs := corevalidation.ValidatePodBinding(binding); len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), binding.Name, errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, binding.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	if err := r.assign(ctx, binding, dryrun.IsDryRun(options.DryRun)); err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess, Code: 201}, nil
}

// assign sets the pod's node, copies the binding's annotations and adds the
// PodScheduled condition, refusing a pod that is being deleted, already
// assigned, still gated, or not the uid/resourceVersion the binding names.
func (r *BindingREST) assign(ctx context.Context, binding *corev1.Binding, dryRun bool) error {
	key, err := r.store.KeyFunc(ctx, binding.Name)
	if err != nil {
		return err
	}
	var preconditions *storage.Preconditions
	if binding.UID != "" || binding.ResourceVersion != "" {
		preconditions = &storage.Preconditions{}
		if binding.UID != "" {
			preconditions.UID = &binding.UID
		}
		if binding.ResourceVersion != "" {
			preconditions.ResourceVersion = &binding.ResourceVersion
		}
	}
	resource := corev1.Resource("pods/binding")
	err = r.store.Storage.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, preconditions, storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
		pod, err := assertPod(obj)
		if err != nil {
			return nil, err
		}
		switch {
		case pod.DeletionTimestamp != nil:
			return nil, apierrors.NewConflict(resource, pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		case pod.Spec.NodeName != "":
			return nil, apierrors.NewConflict(resource, pod.Name, fmt.Errorf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		case len(pod.Spec.SchedulingGates) != 0:
			return nil, apierrors.NewConflict(resource, pod.Name, fmt.Errorf("pod %v has non-empty .spec.schedulingGates", pod.Name))
		}
		pod.Spec.NodeName = binding.Target.Name
		for k, v := range binding.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
		return pod, nil
	}), dryRun, nil)
	// Storage errors (no such pod, a failed uid or resourceVersion
	// precondition) become API statuses: NotFound, Conflict, not a 500.
	return storeerr.InterpretUpdateError(err, corev1.Resource("pods"), binding.Name)
}

// LegacyBindingREST serves the core group's bindings resource, the older
// form of pods/binding that upstream still serves: a POST of a Binding to
// /api/v1/namespaces/{namespace}/bindings binds the pod the Binding names.
type LegacyBindingREST struct {
	binding *BindingREST
}

var (
	_ rest.Creater                        = &LegacyBindingREST{}
	_ rest.SingularNameProvider           = &LegacyBindingREST{}
	_ rest.SubresourceObjectMetaPreserver = &LegacyBindingREST{}
)

// NewLegacyBindingREST returns the bindings resource over the pods' store.
func NewLegacyBindingREST(store *genericregistry.Store) *LegacyBindingREST {
	return &LegacyBindingREST{binding: &BindingREST{store: store}}
}

// New implements rest.Storage.
func (r *LegacyBindingREST) New() runtime.Object { return r.binding.New() }

// Destroy implements rest.Storage; the pod storage owns the store.
func (r *LegacyBindingREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *LegacyBindingREST) NamespaceScoped() bool { return true }

// GetSingularName implements rest.SingularNameProvider.
func (r *LegacyBindingREST) GetSingularName() string { return "binding" }

// PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate keeps the
// Binding's preconditions, as pods/binding does.
func (r *LegacyBindingREST) PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() bool {
	return true
}

// Create implements rest.Creater: the pod is the one the Binding names.
func (r *LegacyBindingREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Binding object: %T", obj))
	}
	return r.binding.Create(ctx, m.GetName(), obj, createValidation, options)
}

// setCondition replaces the condition of c's type in status, or adds it.
func setCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	for i := range status.Conditions {
		if status.Conditions[i].Type == c.Type {
			status.Conditions[i] = c
			return
		}
	}
	status.Conditions = append(status.Conditions, c)
}
