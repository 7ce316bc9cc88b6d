package registry

import (
	"context"
	"reflect"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// strategy implements the create, update, delete and reset-fields
// strategies of the main resource from a Definition.
type strategy[T Object] struct {
	runtime.ObjectTyper
	names.NameGenerator
	d *Definition[T]
}

func newStrategy[T Object](d *Definition[T], typer runtime.ObjectTyper) *strategy[T] {
	return &strategy[T]{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator, d: d}
}

func (s *strategy[T]) NamespaceScoped() bool { return s.d.Namespaced }

func (s *strategy[T]) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	o := obj.(T)
	if s.d.Status != nil && !s.d.Status.KeepOnCreate {
		clearStatus(o)
	}
	if s.d.Generation {
		o.SetGeneration(1)
	}
	if s.d.PrepareForCreate != nil {
		s.d.PrepareForCreate(ctx, o)
	}
}

func (s *strategy[T]) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	o, oldO := obj.(T), old.(T)
	if s.d.Status != nil {
		copyStatus(o, oldO)
	}
	if s.d.Generation {
		o.SetGeneration(oldO.GetGeneration())
		if !specEqual(o, oldO) {
			o.SetGeneration(oldO.GetGeneration() + 1)
		}
	}
	if s.d.PrepareForUpdate != nil {
		s.d.PrepareForUpdate(ctx, o, oldO)
	}
}

func (s *strategy[T]) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	if s.d.Validate == nil {
		return nil
	}
	return s.d.Validate(obj.(T))
}

func (s *strategy[T]) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	if s.d.ValidateUpdate == nil {
		return nil
	}
	return s.d.ValidateUpdate(obj.(T), old.(T))
}

func (s *strategy[T]) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string { return nil }

func (s *strategy[T]) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

func (s *strategy[T]) Canonicalize(obj runtime.Object) {}

// CheckGracefulDelete implements rest.RESTGracefulDeleteStrategy.
func (s *strategy[T]) CheckGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if s.d.GracefulDelete == nil {
		return false
	}
	return s.d.GracefulDelete(ctx, obj.(T), options)
}

func (s *strategy[T]) AllowCreateOnUpdate(context.Context) bool { return s.d.AllowCreateOnUpdate }

func (s *strategy[T]) AllowUnconditionalUpdate(context.Context) bool { return true }

func (s *strategy[T]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if s.d.Status == nil {
		return nil
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.d.GroupVersion.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// statusStrategy is the update strategy of <resource>/status: only .status
// (and nothing in metadata a controller must not touch) changes.
type statusStrategy[T Object] struct {
	*strategy[T]
	status *Status[T]
}

func (s statusStrategy[T]) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	o, oldO := obj.(T), old.(T)
	copyAllButStatus(o, oldO)
	if !s.status.MetadataWritable {
		metav1.ResetObjectMetaForStatus(o, oldO)
	}
	if s.status.PrepareForUpdate != nil {
		s.status.PrepareForUpdate(ctx, o, oldO)
	}
}

func (s statusStrategy[T]) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	if s.status.ValidateUpdate == nil {
		return nil
	}
	return s.status.ValidateUpdate(obj.(T), old.(T))
}

func (s statusStrategy[T]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if s.status.MetadataWritable {
		return map[fieldpath.APIVersion]*fieldpath.Set{
			fieldpath.APIVersion(s.d.GroupVersion.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("spec")),
		}
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.d.GroupVersion.String()): fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"),
			fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations"),
		),
	}
}

// The k8s.io/api structs share one layout: TypeMeta, ObjectMeta, then the
// type's own fields, usually Spec and Status. These helpers act on that
// layout by reflection, so that no type needs its own copy of them.

func isMeta(name string) bool { return name == "TypeMeta" || name == "ObjectMeta" }

func clearStatus(obj any) {
	if f := reflect.ValueOf(obj).Elem().FieldByName("Status"); f.IsValid() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// copyStatus sets obj's status to old's.
func copyStatus(obj, old any) {
	dst := reflect.ValueOf(obj).Elem().FieldByName("Status")
	src := reflect.ValueOf(old).Elem().FieldByName("Status")
	if dst.IsValid() && src.IsValid() {
		dst.Set(src)
	}
}

// copyAllButStatus sets every field of obj but metadata and status to old's.
func copyAllButStatus(obj, old any) {
	dst, src := reflect.ValueOf(obj).Elem(), reflect.ValueOf(old).Elem()
	for i := 0; i < dst.NumField(); i++ {
		name := dst.Type().Field(i).Name
		if isMeta(name) || name == "Status" {
			continue
		}
		dst.Field(i).Set(src.Field(i))
	}
}

// specEqual reports whether a and b agree on everything but metadata and
// status: the part of an object whose changes bump metadata.generation.
func specEqual(a, b any) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		if isMeta(name) || name == "Status" {
			continue
		}
		if !apiequality.Semantic.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}
