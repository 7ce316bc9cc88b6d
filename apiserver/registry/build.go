package registry

import (
	"context"
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Resource is what an API group needs of any declared resource: its
// identity, the field labels to register and the storage to install.
type Resource interface {
	GroupResource() schema.GroupResource
	GroupVersionKind() schema.GroupVersionKind
	AddFieldLabelConversions(s *runtime.Scheme) error
	// Build returns the REST storage of the resource and its subresources,
	// keyed as APIGroupInfo.VersionedResourcesStorageMap expects
	// ("configmaps", "namespaces/status").
	Build(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (map[string]rest.Storage, error)
}

// REST is the generic storage of a declared resource.
type REST struct {
	*genericregistry.Store
	// Options are the storage options the store was built with, for an
	// Extend hook that needs storage of its own (the NodePort bitmap).
	Options                generic.RESTOptionsGetter
	shortNames, categories []string
}

var (
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// ShortNames implements rest.ShortNamesProvider.
func (r *REST) ShortNames() []string { return r.shortNames }

// Categories implements rest.CategoriesProvider.
func (r *REST) Categories() []string { return r.categories }

// Build implements Resource.
func (d *Definition[T]) Build(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	st := newStrategy(d, typer)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return d.New() },
		NewListFunc:               d.NewList,
		DefaultQualifiedResource:  d.GroupResource(),
		SingularQualifiedResource: schema.GroupResource{Group: d.GroupVersion.Group, Resource: d.Singular},
		PredicateFunc: func(l labels.Selector, f fields.Selector) storage.SelectionPredicate {
			return storage.SelectionPredicate{Label: l, Field: f, GetAttrs: d.attrs, IndexFields: d.Indexed}
		},
		CreateStrategy:      st,
		UpdateStrategy:      st,
		DeleteStrategy:      st,
		ResetFieldsStrategy: st,
		TableConvertor:      d.TableConvertor,
	}
	if store.TableConvertor == nil {
		store.TableConvertor = rest.NewDefaultTableConvertor(d.GroupResource())
	}
	if d.TTL != nil {
		store.TTLFunc = func(obj runtime.Object, existing uint64, update bool) (uint64, error) {
			return d.TTL(obj.(T), existing, update)
		}
	}
	if d.KeepDuringUpdate != nil {
		store.ShouldDeleteDuringUpdate = func(ctx context.Context, key string, obj, existing runtime.Object) bool {
			o, ok := obj.(T)
			return ok && !d.KeepDuringUpdate(o) && genericregistry.ShouldDeleteDuringUpdate(ctx, key, obj, existing)
		}
	}
	storeOpts := &generic.StoreOptions{RESTOptions: opts, AttrFunc: d.attrs}
	if len(d.Indexed) > 0 {
		storeOpts.TriggerFunc, storeOpts.Indexers = d.indexers()
	}
	if err := store.CompleteWithOptions(storeOpts); err != nil {
		return nil, fmt.Errorf("complete storage for %s: %w", d.GroupResource(), err)
	}
	main := &REST{Store: store, Options: opts, shortNames: d.ShortNames, categories: d.Categories}
	storages := map[string]rest.Storage{d.Resource: main}
	statusLike := map[string]*Status[T]{}
	maps.Copy(statusLike, d.StatusLike)
	if d.Status != nil {
		statusLike["status"] = d.Status
	}
	for name, status := range statusLike {
		statusStore := *store
		ss := statusStrategy[T]{strategy: st, status: status}
		statusStore.UpdateStrategy = ss
		statusStore.ResetFieldsStrategy = ss
		storages[d.Resource+"/"+name] = &StatusREST{store: &statusStore}
	}
	if d.Scale != nil {
		storages[d.Resource+"/scale"] = &ScaleREST[T]{store: store, scale: d.Scale}
	}
	if d.Extend != nil {
		if err := d.Extend(main, storages); err != nil {
			return nil, fmt.Errorf("extend storage for %s: %w", d.GroupResource(), err)
		}
	}
	return storages, nil
}

// indexers returns the watch-cache triggers and indexers of d.Indexed.
func (d *Definition[T]) indexers() (map[string]storage.IndexerFunc, *cache.Indexers) {
	value := func(obj runtime.Object, name string) string {
		_, set, err := d.attrs(obj)
		if err != nil {
			return ""
		}
		return set[name]
	}
	triggers := map[string]storage.IndexerFunc{}
	indexers := cache.Indexers{}
	for _, name := range d.Indexed {
		triggers[name] = func(obj runtime.Object) string { return value(obj, name) }
		indexers[storage.FieldIndex(name)] = func(obj any) ([]string, error) {
			o, ok := obj.(runtime.Object)
			if !ok {
				return nil, fmt.Errorf("%s: unexpected object type %T", d.Resource, obj)
			}
			return []string{value(o, name)}, nil
		}
	}
	return triggers, &indexers
}

// StatusREST serves <resource>/status: get and update of the status only.
type StatusREST struct {
	store *genericregistry.Store
}

// NewSubresourceREST serves a subresource that reads the whole object and
// writes it through store (a copy of the main store with the subresource's
// update strategy), like <resource>/status does.
func NewSubresourceREST(store *genericregistry.Store) *StatusREST {
	return &StatusREST{store: store}
}

var (
	_ rest.Getter  = &StatusREST{}
	_ rest.Updater = &StatusREST{}
	_ rest.Patcher = &StatusREST{}
)

// New implements rest.Storage.
func (r *StatusREST) New() runtime.Object { return r.store.New() }

// Destroy implements rest.Storage; the main resource owns the storage.
func (r *StatusREST) Destroy() {}

// Get implements rest.Getter.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update implements rest.Updater. Status writes never create an object.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields implements rest.ResetFieldsStrategy.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable implements rest.TableConvertor.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
