package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// WidgetReconciler keeps each Widget's ConfigMap, inventory entry and status
// in line with its spec, and releases the Widget's finalizer once its
// inventory entry is gone.
type WidgetReconciler struct {
	// Client reads and writes the API; a manager's client is fine.
	Client client.Client
	// Scheme resolves kinds for owner references; it must hold core/v1.
	Scheme *runtime.Scheme
}

// SetupWithManager registers the reconciler with mgr, watching Widgets and
// the ConfigMaps they control.
func (r *WidgetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("widget").
		For(NewWidget()).
		Owns(&corev1.ConfigMap{}).
		Complete(r)
}

// Reconcile brings one Widget to its desired state.
func (r *WidgetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	w := NewWidget()
	if err := r.Client.Get(ctx, req.NamespacedName, w); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !w.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, r.finalize(ctx, w)
	}
	if controllerutil.AddFinalizer(w, Finalizer) {
		if err := r.Client.Update(ctx, w); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to widget %s: %w", req, err)
		}
	}
	spec, err := readSpec(w)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.ensureConfigMap(ctx, w, spec); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.patchInventory(ctx, w.GetNamespace(), w.GetName(), &spec.Tier); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.writeStatus(ctx, w)
}

// widgetSpec is the part of a Widget's spec the reconciler acts on.
type widgetSpec struct {
	Replicas int64
	Color    string
	Tier     string
}

func readSpec(w *unstructured.Unstructured) (widgetSpec, error) {
	var s widgetSpec
	var err error
	if s.Replicas, _, err = unstructured.NestedInt64(w.Object, "spec", "replicas"); err != nil {
		return s, fmt.Errorf("widget %s/%s: spec.replicas: %w", w.GetNamespace(), w.GetName(), err)
	}
	if s.Color, _, err = unstructured.NestedString(w.Object, "spec", "color"); err != nil {
		return s, fmt.Errorf("widget %s/%s: spec.color: %w", w.GetNamespace(), w.GetName(), err)
	}
	if s.Tier, _, err = unstructured.NestedString(w.Object, "spec", "tier"); err != nil {
		return s, fmt.Errorf("widget %s/%s: spec.tier: %w", w.GetNamespace(), w.GetName(), err)
	}
	return s, nil
}

// ensureConfigMap creates or updates the ConfigMap controlled by w.
func (r *WidgetReconciler) ensureConfigMap(ctx context.Context, w *unstructured.Unstructured, spec widgetSpec) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: w.GetNamespace(), Name: ConfigMapName(w.GetName())}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		cm.Data = map[string]string{
			"replicas": strconv.FormatInt(spec.Replicas, 10),
			"color":    spec.Color,
			"tier":     spec.Tier,
		}
		return controllerutil.SetControllerReference(w, cm, r.Scheme)
	})
	if err != nil {
		return fmt.Errorf("reconcile configmap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

// patchInventory sets (tier non-nil) or removes (tier nil) the widget's
// entry in its namespace's inventory ConfigMap. A JSON merge patch carries no
// resourceVersion, so concurrent Widgets never conflict.
func (r *WidgetReconciler) patchInventory(ctx context.Context, namespace, widget string, tier *string) error {
	inv := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: InventoryName}}
	patch, err := json.Marshal(map[string]any{"data": map[string]*string{widget: tier}})
	if err != nil {
		return fmt.Errorf("encode inventory patch: %w", err)
	}
	err = r.Client.Patch(ctx, inv, client.RawPatch(types.MergePatchType, patch))
	switch {
	case err == nil:
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("patch inventory %s/%s: %w", namespace, InventoryName, err)
	case tier == nil:
		return nil
	}
	inv.Data = map[string]string{widget: *tier}
	if err := r.Client.Create(ctx, inv); err != nil {
		return fmt.Errorf("create inventory %s/%s: %w", namespace, InventoryName, err)
	}
	return nil
}

// writeStatus records the reconciled generation and a Ready condition
// through the status subresource, if they changed.
func (r *WidgetReconciler) writeStatus(ctx context.Context, w *unstructured.Unstructured) error {
	raw, _, err := unstructured.NestedSlice(w.Object, "status", "conditions")
	if err != nil {
		return fmt.Errorf("widget %s/%s: status.conditions: %w", w.GetNamespace(), w.GetName(), err)
	}
	conditions := make([]metav1.Condition, len(raw))
	for i, c := range raw {
		m, ok := c.(map[string]any)
		if !ok {
			return fmt.Errorf("widget %s/%s: status.conditions[%d] is %T, not an object", w.GetNamespace(), w.GetName(), i, c)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &conditions[i]); err != nil {
			return fmt.Errorf("widget %s/%s: status.conditions[%d]: %w", w.GetNamespace(), w.GetName(), i, err)
		}
	}
	generation := w.GetGeneration()
	changed := meta.SetStatusCondition(&conditions, metav1.Condition{
		Type:               ConditionReady,
		Status:             metav1.ConditionTrue,
		Reason:             "ConfigMapReconciled",
		Message:            fmt.Sprintf("ConfigMap %s is up to date", ConfigMapName(w.GetName())),
		ObservedGeneration: generation,
	})
	observed, _, err := unstructured.NestedInt64(w.Object, "status", "observedGeneration")
	if err != nil {
		return fmt.Errorf("widget %s/%s: status.observedGeneration: %w", w.GetNamespace(), w.GetName(), err)
	}
	if !changed && observed == generation {
		return nil
	}
	out := make([]any, len(conditions))
	for i := range conditions {
		if out[i], err = runtime.DefaultUnstructuredConverter.ToUnstructured(&conditions[i]); err != nil {
			return fmt.Errorf("encode condition %s: %w", conditions[i].Type, err)
		}
	}
	if err := unstructured.SetNestedField(w.Object, generation, "status", "observedGeneration"); err != nil {
		return fmt.Errorf("set status.observedGeneration: %w", err)
	}
	if err := unstructured.SetNestedSlice(w.Object, out, "status", "conditions"); err != nil {
		return fmt.Errorf("set status.conditions: %w", err)
	}
	if err := r.Client.Status().Update(ctx, w); err != nil {
		return fmt.Errorf("update status of widget %s/%s: %w", w.GetNamespace(), w.GetName(), err)
	}
	return nil
}

// finalize removes a deleting Widget's inventory entry, then its finalizer.
// The owned ConfigMap is left to the garbage collector, as owner references
// intend.
func (r *WidgetReconciler) finalize(ctx context.Context, w *unstructured.Unstructured) error {
	if !controllerutil.ContainsFinalizer(w, Finalizer) {
		return nil
	}
	if err := r.patchInventory(ctx, w.GetNamespace(), w.GetName(), nil); err != nil {
		return err
	}
	controllerutil.RemoveFinalizer(w, Finalizer)
	if err := r.Client.Update(ctx, w); err != nil {
		return fmt.Errorf("remove finalizer from widget %s/%s: %w", w.GetNamespace(), w.GetName(), err)
	}
	return nil
}
