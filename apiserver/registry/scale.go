package registry

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Scale configures the scale subresource of a replicated workload.
type Scale[T Object] struct {
	// Replicas returns the desired and observed replica counts of obj and
	// the label selector of its pods, in the string form of a selector.
	Replicas func(obj T) (desired, observed int32, selector string, err error)
	// SetReplicas sets the desired replica count of obj.
	SetReplicas func(obj T, replicas int32)
}

// ScaleREST serves <resource>/scale: the workload seen, and resized, as an
// autoscaling/v1 Scale (what `kubectl scale` and autoscalers use).
type ScaleREST[T Object] struct {
	store *genericregistry.Store
	scale *Scale[T]
}

var (
	_ rest.Getter                   = &ScaleREST[Object]{}
	_ rest.Updater                  = &ScaleREST[Object]{}
	_ rest.GroupVersionKindProvider = &ScaleREST[Object]{}
)

// New implements rest.Storage.
func (r *ScaleREST[T]) New() runtime.Object { return &autoscalingv1.Scale{} }

// Destroy implements rest.Storage; the main resource owns the storage.
func (r *ScaleREST[T]) Destroy() {}

// GroupVersionKind implements rest.GroupVersionKindProvider: every scale
// subresource speaks autoscaling/v1, whatever its parent's group.
func (r *ScaleREST[T]) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return autoscalingv1.SchemeGroupVersion.WithKind("Scale")
}

// Get implements rest.Getter.
func (r *ScaleREST[T]) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return r.toScale(obj)
}

// Update implements rest.Updater: the new Scale's spec.replicas becomes the
// workload's, through the workload's own update strategy, so validation and
// generation apply as for any update. A resourceVersion in the Scale makes
// the update conditional on the workload's.
func (r *ScaleREST[T]) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	obj, _, err := r.store.Update(ctx, name, &scaleUpdate[T]{r: r, name: name, inner: objInfo},
		r.scaleCreateValidation(createValidation), r.scaleUpdateValidation(updateValidation), false, options)
	if err != nil {
		return nil, false, err
	}
	scale, err := r.toScale(obj)
	return scale, false, err
}

// ConvertToTable implements rest.TableConvertor.
func (r *ScaleREST[T]) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return rest.NewDefaultTableConvertor(r.store.DefaultQualifiedResource).ConvertToTable(ctx, object, tableOptions)
}

func (r *ScaleREST[T]) toScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	o, ok := obj.(T)
	if !ok {
		return nil, fmt.Errorf("%s/scale: unexpected object type %T", r.store.DefaultQualifiedResource, obj)
	}
	desired, observed, selector, err := r.scale.Replicas(o)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s/scale: %v", r.store.DefaultQualifiedResource, err))
	}
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name:              o.GetName(),
			Namespace:         o.GetNamespace(),
			UID:               o.GetUID(),
			ResourceVersion:   o.GetResourceVersion(),
			CreationTimestamp: o.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: desired},
		Status: autoscalingv1.ScaleStatus{Replicas: observed, Selector: selector},
	}, nil
}

func (r *ScaleREST[T]) scaleCreateValidation(f rest.ValidateObjectFunc) rest.ValidateObjectFunc {
	return func(ctx context.Context, obj runtime.Object) error {
		scale, err := r.toScale(obj)
		if err != nil {
			return err
		}
		return f(ctx, scale)
	}
}

func (r *ScaleREST[T]) scaleUpdateValidation(f rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		scale, err := r.toScale(obj)
		if err != nil {
			return err
		}
		oldScale, err := r.toScale(old)
		if err != nil {
			return err
		}
		return f(ctx, scale, oldScale)
	}
}

// scaleUpdate turns the Scale a client sent into the updated workload.
type scaleUpdate[T Object] struct {
	r     *ScaleREST[T]
	name  string
	inner rest.UpdatedObjectInfo
}

func (u *scaleUpdate[T]) Preconditions() *metav1.Preconditions { return u.inner.Preconditions() }

func (u *scaleUpdate[T]) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	if oldObj == nil {
		return nil, apierrors.NewNotFound(u.r.store.DefaultQualifiedResource, u.name)
	}
	oldScale, err := u.r.toScale(oldObj)
	if err != nil {
		return nil, err
	}
	got, err := u.inner.UpdatedObject(ctx, oldScale)
	if err != nil {
		return nil, err
	}
	scale, ok := got.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected an autoscaling/v1 Scale, got %T", got))
	}
	if errs := ValidateScale(scale); len(errs) > 0 {
		return nil, apierrors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), scale.Name, errs)
	}
	obj := oldObj.DeepCopyObject().(T)
	u.r.scale.SetReplicas(obj, scale.Spec.Replicas)
	obj.SetResourceVersion(scale.ResourceVersion)
	return obj, nil
}

// ValidateScale validates a Scale written to a scale subresource, as
// upstream's autoscaling validation does: valid metadata and a replica
// count that is not negative.
func ValidateScale(scale *autoscalingv1.Scale) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&scale.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if scale.Spec.Replicas < 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0"))
	}
	return errs
}
