package flowcontrol

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/defaults"
)

// retryInterval is how long Ensure waits between passes while the server
// does not accept the configuration yet.
const retryInterval = 50 * time.Millisecond

// FlowSchemas returns new copies of the bootstrap FlowSchemas, mandatory
// first, then suggested, each annotated apf.kubernetes.io/autoupdate-spec "true".
func FlowSchemas() []*flowcontrolv1.FlowSchema {
	var out []*flowcontrolv1.FlowSchema
	for _, list := range [][]*flowcontrolv1.FlowSchema{bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas} {
		for _, fs := range list {
			out = append(out, fs.DeepCopy())
		}
	}
	return out
}

// PriorityLevels returns new copies of the bootstrap
// PriorityLevelConfigurations, mandatory first, then suggested.
func PriorityLevels() []*flowcontrolv1.PriorityLevelConfiguration {
	var out []*flowcontrolv1.PriorityLevelConfiguration
	for _, list := range [][]*flowcontrolv1.PriorityLevelConfiguration{bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations} {
		for _, pl := range list {
			out = append(out, pl.DeepCopy())
		}
	}
	return out
}

func isMandatory(name string) bool {
	return name == flowcontrolv1.FlowSchemaNameExempt || name == flowcontrolv1.FlowSchemaNameCatchAll
}

// Ensure makes the bootstrap APF configuration present, priority levels
// before the schemas that reference them. A missing object is created. An
// existing mandatory object gets the bootstrap spec back (the exempt level
// keeps its spec.exempt tuning); an existing suggested object is updated only
// while it opts in: annotation apf.kubernetes.io/autoupdate-spec "true", or
// no parseable annotation and generation 1 (never edited). The annotation is
// then set to say which applies. A pass with errors is retried every retryInterval
// until one succeeds or ctx ends.
func Ensure(ctx context.Context, client kubernetes.Interface) error {
	logger := klog.FromContext(ctx)
	expected, err := defaultedBootstrap()
	if err != nil {
		return fmt.Errorf("ensure APF bootstrap configuration: %w", err)
	}
	var last error
	err = wait.PollUntilContextCancel(ctx, retryInterval, true, func(ctx context.Context) (bool, error) {
		// The objects of one kind are independent: they are reconciled
		// concurrently (sequentially, the ~60 round trips held /readyz
		// back for over a second), the priority levels before the flow
		// schemas that name them.
		// One LIST per kind instead of a GET per object; a write that
		// meets a change made since fails the pass, and the next pass
		// lists again.
		levels := client.FlowcontrolV1().PriorityLevelConfigurations()
		levelList, err := levels.List(ctx, metav1.ListOptions{})
		if err != nil {
			last = fmt.Errorf("list PriorityLevelConfigurations: %w", err)
			logger.V(1).Info("Retrying APF bootstrap configuration", "err", last)
			return false, nil
		}
		schemas := client.FlowcontrolV1().FlowSchemas()
		schemaList, err := schemas.List(ctx, metav1.ListOptions{})
		if err != nil {
			last = fmt.Errorf("list FlowSchemas: %w", err)
			logger.V(1).Info("Retrying APF bootstrap configuration", "err", last)
			return false, nil
		}
		errs := parallel(expected.levels, func(want *flowcontrolv1.PriorityLevelConfiguration) error {
			return reconcile(ctx, want, ops[*flowcontrolv1.PriorityLevelConfiguration]{
				kind: "PriorityLevelConfiguration", get: listed(levelList.Items, flowcontrolv1.Resource("prioritylevelconfigurations")), create: levels.Create, update: levels.Update,
				specEqual: priorityLevelSpecsEqual, copySpec: func(to, from *flowcontrolv1.PriorityLevelConfiguration) { to.Spec = *from.Spec.DeepCopy() },
			})
		})
		errs = append(errs, parallel(expected.schemas, func(want *flowcontrolv1.FlowSchema) error {
			return reconcile(ctx, want, ops[*flowcontrolv1.FlowSchema]{
				kind: "FlowSchema", get: listed(schemaList.Items, flowcontrolv1.Resource("flowschemas")), create: schemas.Create, update: schemas.Update,
				specEqual: func(want, have *flowcontrolv1.FlowSchema) bool {
					return apiequality.Semantic.DeepEqual(want.Spec, have.Spec)
				},
				copySpec: func(to, from *flowcontrolv1.FlowSchema) { to.Spec = *from.Spec.DeepCopy() },
			})
		})...)
		last = utilerrors.NewAggregate(errs)
		if last != nil {
			logger.V(1).Info("Retrying APF bootstrap configuration", "err", last)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		if last != nil {
			return fmt.Errorf("ensure APF bootstrap configuration: %w (last pass: %v)", err, last)
		}
		return fmt.Errorf("ensure APF bootstrap configuration: %w", err)
	}
	return nil
}

// listed returns a get that answers from items, as listed at the start of
// a pass.
func listed[T any, P interface {
	*T
	metav1.Object
}](items []T, gr schema.GroupResource) func(context.Context, string, metav1.GetOptions) (P, error) {
	byName := make(map[string]P, len(items))
	for i := range items {
		p := P(&items[i])
		byName[p.GetName()] = p
	}
	return func(_ context.Context, name string, _ metav1.GetOptions) (P, error) {
		if p, ok := byName[name]; ok {
			return p, nil
		}
		return nil, apierrors.NewNotFound(gr, name)
	}
}

// parallel runs fn on every item at once and returns the errors.
func parallel[T any](items []T, fn func(T) error) []error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, item := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(item)
		}()
	}
	wg.Wait()
	return errs
}

type bootstrapSet struct {
	schemas []*flowcontrolv1.FlowSchema
	levels  []*flowcontrolv1.PriorityLevelConfiguration
}

// defaultedBootstrap returns the bootstrap objects as the server stores
// them, so that comparisons with stored objects see no spurious difference.
func defaultedBootstrap() (bootstrapSet, error) {
	scheme := runtime.NewScheme()
	if err := defaults.AddToScheme(scheme); err != nil {
		return bootstrapSet{}, fmt.Errorf("register defaults: %w", err)
	}
	set := bootstrapSet{schemas: FlowSchemas(), levels: PriorityLevels()}
	for _, fs := range set.schemas {
		scheme.Default(fs)
	}
	for _, pl := range set.levels {
		scheme.Default(pl)
	}
	return set, nil
}

// priorityLevelSpecsEqual compares specs, ignoring the exempt level's
// administrator-tunable spec.exempt values.
func priorityLevelSpecsEqual(want, have *flowcontrolv1.PriorityLevelConfiguration) bool {
	if want.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt {
		if have.Spec.Exempt == nil {
			return false
		}
		want = want.DeepCopy()
		want.Spec.Exempt.NominalConcurrencyShares = have.Spec.Exempt.NominalConcurrencyShares
		want.Spec.Exempt.LendablePercent = have.Spec.Exempt.LendablePercent
	}
	return apiequality.Semantic.DeepEqual(want.Spec, have.Spec)
}

// ops are the typed client calls and spec helpers reconcile needs.
type ops[T interface {
	metav1.Object
	runtime.Object
}] struct {
	kind      string
	get       func(context.Context, string, metav1.GetOptions) (T, error)
	create    func(context.Context, T, metav1.CreateOptions) (T, error)
	update    func(context.Context, T, metav1.UpdateOptions) (T, error)
	specEqual func(want, have T) bool
	copySpec  func(to, from T)
}

func reconcile[T interface {
	metav1.Object
	runtime.Object
}](ctx context.Context, want T, o ops[T]) error {
	logger := klog.FromContext(ctx).WithValues("kind", o.kind, "name", want.GetName())
	have, err := o.get(ctx, want.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = o.create(ctx, want.DeepCopyObject().(T), metav1.CreateOptions{FieldManager: "api-priority-and-fairness-config-producer-v1"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s %s: %w", o.kind, want.GetName(), err)
		}
		logger.V(1).Info("Created bootstrap APF object")
		return nil
	case err != nil:
		return fmt.Errorf("get %s %s: %w", o.kind, want.GetName(), err)
	}
	autoUpdate := isMandatory(want.GetName()) || optsIn(have)
	annotate := annotationDiffers(have, autoUpdate)
	respec := autoUpdate && !o.specEqual(want, have)
	if !annotate && !respec {
		return nil
	}
	revised := have.DeepCopyObject().(T)
	if annotate {
		annotations := revised.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[flowcontrolv1.AutoUpdateAnnotationKey] = strconv.FormatBool(autoUpdate)
		revised.SetAnnotations(annotations)
	}
	if respec {
		o.copySpec(revised, want)
	}
	if _, err := o.update(ctx, revised, metav1.UpdateOptions{FieldManager: "api-priority-and-fairness-config-producer-v1"}); err != nil {
		return fmt.Errorf("update %s %s: %w", o.kind, want.GetName(), err)
	}
	logger.V(1).Info("Updated bootstrap APF object", "spec", respec, "autoUpdate", autoUpdate)
	return nil
}

// optsIn says whether a suggested object may be updated: its annotation says
// "true", or it has no parseable annotation and was never edited.
func optsIn(obj metav1.Object) bool {
	if v, err := strconv.ParseBool(obj.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]); err == nil {
		return v
	}
	return obj.GetGeneration() == 1
}

func annotationDiffers(obj metav1.Object, want bool) bool {
	v, ok := obj.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]
	if !ok {
		return true
	}
	have, err := strconv.ParseBool(v)
	return err != nil || have != want
}
