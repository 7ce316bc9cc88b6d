package envtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/skiff-dev/skiff/test/envtest/operator"
)

const (
	// pollTimeout bounds every wait for the operator or the API server.
	pollTimeout = 15 * time.Second
	// steadyWindow is how long a "nothing else happens" check watches.
	steadyWindow = 1500 * time.Millisecond
)

func TestWidgetReconciled(t *testing.T) {
	ns := newNamespace(t)
	created := newWidget(ns, "gizmo", map[string]any{"tier": "gold", "color": "red"})
	if err := k8s.Create(t.Context(), created); err != nil {
		t.Fatalf("create widget: %v", err)
	}
	w := waitReconciled(t, ns, "gizmo")
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: operator.ConfigMapName("gizmo")}, cm); err != nil {
		t.Fatalf("get owned configmap: %v", err)
	}
	inventory := &corev1.ConfigMap{}
	if err := k8s.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: operator.InventoryName}, inventory); err != nil {
		t.Fatalf("get inventory: %v", err)
	}

	tests := []struct {
		name      string
		got, want any
	}{
		{"schema default fills spec.replicas", nested(w, "spec", "replicas"), int64(1)},
		{"explicit spec.color is kept over its default", nested(w, "spec", "color"), "red"},
		{"mutating webhook set its label", w.GetLabels()[operator.MutatedLabel], "true"},
		{"reconciler added its finalizer", w.GetFinalizers(), []string{operator.Finalizer}},
		{"configmap is controlled by the widget", cm.OwnerReferences, []metav1.OwnerReference{{
			APIVersion:         "example.skiff.dev/v1",
			Kind:               "Widget",
			Name:               "gizmo",
			UID:                w.GetUID(),
			Controller:         new(true),
			BlockOwnerDeletion: new(true),
		}}},
		{"configmap data comes from the spec", cm.Data, map[string]string{"replicas": "1", "color": "red", "tier": "gold"}},
		{"status.observedGeneration is the generation", nested(w, "status", "observedGeneration"), w.GetGeneration()},
		{"Ready condition is True for this generation", readyCondition(w), map[string]any{
			"status":             "True",
			"reason":             "ConfigMapReconciled",
			"message":            "ConfigMap gizmo-widget is up to date",
			"observedGeneration": w.GetGeneration(),
		}},
		{"inventory lists the widget", inventory.Data, map[string]string{"gizmo": "gold"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWidgetRejected(t *testing.T) {
	ns := newNamespace(t)
	tests := []struct {
		name string
		// widget is created; if update is set, the create must succeed
		// and the update is what is rejected.
		widget *unstructured.Unstructured
		update func(w *unstructured.Unstructured)
		want   metav1.Status
	}{
		{
			name:   "CEL rule on create",
			widget: newWidget(ns, "too-many", map[string]any{"tier": "gold", "replicas": int64(11)}),
			want: invalid("too-many", `spec: Invalid value: replicas must be at most 10`,
				metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec", Message: "Invalid value: replicas must be at most 10"}),
		},
		{
			name:   "CEL rule on update",
			widget: newWidget(ns, "grows", map[string]any{"tier": "gold", "replicas": int64(2)}),
			update: func(w *unstructured.Unstructured) { w.Object["spec"].(map[string]any)["replicas"] = int64(11) },
			want: invalid("grows", `spec: Invalid value: replicas must be at most 10`,
				metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec", Message: "Invalid value: replicas must be at most 10"}),
		},
		{
			name:   "CEL transition rule self == oldSelf",
			widget: newWidget(ns, "tiered", map[string]any{"tier": "gold"}),
			update: func(w *unstructured.Unstructured) { w.Object["spec"].(map[string]any)["tier"] = "silver" },
			want: invalid("tiered", `spec.tier: Invalid value: "silver": tier is immutable`,
				metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec.tier", Message: `Invalid value: "silver": tier is immutable`}),
		},
		{
			name:   "schema minimum",
			widget: newWidget(ns, "negative", map[string]any{"tier": "gold", "replicas": int64(-1)}),
			want: invalid("negative", `spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0`,
				metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec.replicas", Message: "Invalid value: -1: spec.replicas in body should be greater than or equal to 0"}),
		},
		{
			name:   "schema required",
			widget: newWidget(ns, "untiered", map[string]any{"color": "red"}),
			// Upstream appends a path-less error when a Required error
			// blocks the CEL rules.
			want: invalid("untiered", `[spec.tier: Required value, <nil>: Invalid value: null: `+celSkipped+`]`,
				metav1.StatusCause{Type: metav1.CauseTypeFieldValueRequired, Field: "spec.tier", Message: "Required value"},
				metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "<nil>", Message: "Invalid value: null: " + celSkipped}),
		},
		{
			name:   "validating webhook denies the name",
			widget: newWidget(ns, "bad-widget", map[string]any{"tier": "gold"}),
			want: metav1.Status{
				Status:  metav1.StatusFailure,
				Code:    http.StatusForbidden,
				Reason:  metav1.StatusReasonForbidden,
				Message: `admission webhook "vwidget.example.skiff.dev" denied the request: widget name "bad-widget" must not contain "bad"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := k8s.Create(t.Context(), tc.widget)
			if tc.update != nil {
				if err != nil {
					t.Fatalf("create widget: %v", err)
				}
				_, err = updateWidget(t, ns, tc.widget.GetName(), tc.update, mainResource)
			}
			got := apiStatus(t, err)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(metav1.Status{}, "TypeMeta")); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if err.Error() != tc.want.Message {
				t.Errorf("error = %q, want %q", err.Error(), tc.want.Message)
			}
		})
	}
}

func TestStatusSubresource(t *testing.T) {
	ns := newNamespace(t)
	if err := k8s.Create(t.Context(), newWidget(ns, "split", map[string]any{"tier": "gold", "color": "red"})); err != nil {
		t.Fatalf("create widget: %v", err)
	}
	waitReconciled(t, ns, "split")

	tests := []struct {
		name string
		// write sends the widget with spec.color set to color and
		// status.observedGeneration to 999.
		write writeFunc
		color string
		check func(t *testing.T, before, after *unstructured.Unstructured)
	}{
		{
			name:  "update of the main resource ignores status",
			write: mainResource,
			color: "green",
			check: func(t *testing.T, before, after *unstructured.Unstructured) {
				if got, want := nested(after, "status", "observedGeneration"), nested(before, "status", "observedGeneration"); got != want {
					t.Errorf("status.observedGeneration = %v, want it unchanged at %v", got, want)
				}
				if got := nested(after, "spec", "color"); got != "green" {
					t.Errorf("spec.color = %v, want green", got)
				}
				if after.GetGeneration() != before.GetGeneration()+1 {
					t.Errorf("generation = %d, want %d", after.GetGeneration(), before.GetGeneration()+1)
				}
				// The reconciler sees the new generation and catches up.
				waitReconciled(t, ns, "split")
			},
		},
		{
			name:  "update of /status ignores spec",
			write: statusSubresource,
			color: "purple",
			check: func(t *testing.T, before, after *unstructured.Unstructured) {
				if got := nested(after, "status", "observedGeneration"); got != int64(999) {
					t.Errorf("status.observedGeneration = %v, want 999", got)
				}
				if got, want := nested(after, "spec", "color"), nested(before, "spec", "color"); got != want {
					t.Errorf("spec.color = %v, want it unchanged at %v", got, want)
				}
				if after.GetGeneration() != before.GetGeneration() {
					t.Errorf("generation = %d, want it unchanged at %d", after.GetGeneration(), before.GetGeneration())
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before *unstructured.Unstructured
			after, err := updateWidget(t, ns, "split", func(w *unstructured.Unstructured) {
				before = w.DeepCopy()
				w.Object["spec"].(map[string]any)["color"] = tc.color
				if err := unstructured.SetNestedField(w.Object, int64(999), "status", "observedGeneration"); err != nil {
					t.Fatal(err)
				}
			}, tc.write)
			if err != nil {
				t.Fatalf("update widget: %v", err)
			}
			tc.check(t, before, after)
		})
	}
}

// TestBareAPIServerDeletion checks what envtest documents for an API server
// with no controllers: owner references delete nothing, foreground deletion
// waits forever, and deleted namespaces stay Terminating.
func TestBareAPIServerDeletion(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, ns string)
	}{
		{"widget finalizer is released and its configmap outlives it", func(t *testing.T, ns string) {
			if err := k8s.Create(t.Context(), newWidget(ns, "doomed", map[string]any{"tier": "gold"})); err != nil {
				t.Fatalf("create widget: %v", err)
			}
			waitReconciled(t, ns, "doomed")
			if err := k8s.Delete(t.Context(), newWidget(ns, "doomed", nil)); err != nil {
				t.Fatalf("delete widget: %v", err)
			}
			eventually(t, func(ctx context.Context) error {
				w := operator.NewWidget()
				err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "doomed"}, w)
				if err == nil {
					return fmt.Errorf("widget still exists with finalizers %v", w.GetFinalizers())
				}
				return client.IgnoreNotFound(err)
			})
			inventory := &corev1.ConfigMap{}
			if err := k8s.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: operator.InventoryName}, inventory); err != nil {
				t.Fatalf("get inventory: %v", err)
			}
			if _, ok := inventory.Data["doomed"]; ok {
				t.Errorf("inventory still lists the deleted widget: %v", inventory.Data)
			}
			steady(t, func(ctx context.Context) error {
				cm := &corev1.ConfigMap{}
				if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: operator.ConfigMapName("doomed")}, cm); err != nil {
					return fmt.Errorf("owned configmap is gone without a garbage collector: %w", err)
				}
				if !cm.DeletionTimestamp.IsZero() {
					return fmt.Errorf("owned configmap is being deleted without a garbage collector")
				}
				return nil
			})
		}},
		{"foreground deletion keeps the foregroundDeletion finalizer", func(t *testing.T, ns string) {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "foreground"}}
			if err := k8s.Create(t.Context(), cm); err != nil {
				t.Fatalf("create configmap: %v", err)
			}
			if err := k8s.Delete(t.Context(), cm, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
				t.Fatalf("delete configmap: %v", err)
			}
			steady(t, func(ctx context.Context) error {
				got := &corev1.ConfigMap{}
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), got); err != nil {
					return fmt.Errorf("get configmap: %w", err)
				}
				if got.DeletionTimestamp.IsZero() {
					return fmt.Errorf("deletionTimestamp is not set")
				}
				if !slices.Equal(got.Finalizers, []string{metav1.FinalizerDeleteDependents}) {
					return fmt.Errorf("finalizers = %v, want [%s]", got.Finalizers, metav1.FinalizerDeleteDependents)
				}
				return nil
			})
			// Suites strip the finalizer themselves; then the object goes.
			if err := k8s.Patch(t.Context(), cm, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))); err != nil {
				t.Fatalf("remove finalizer: %v", err)
			}
			eventually(t, func(ctx context.Context) error {
				err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})
				if err == nil {
					return fmt.Errorf("configmap still exists")
				}
				return client.IgnoreNotFound(err)
			})
		}},
		{"deleted namespace stays Terminating", func(t *testing.T, ns string) {
			namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
			if err := k8s.Delete(t.Context(), namespace); err != nil {
				t.Fatalf("delete namespace: %v", err)
			}
			steady(t, func(ctx context.Context) error {
				got := &corev1.Namespace{}
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(namespace), got); err != nil {
					return fmt.Errorf("get namespace: %w", err)
				}
				if got.Status.Phase != corev1.NamespaceTerminating || got.DeletionTimestamp.IsZero() {
					return fmt.Errorf("phase = %q, deletionTimestamp = %v; want Terminating with a deletionTimestamp", got.Status.Phase, got.DeletionTimestamp)
				}
				if !slices.Equal(got.Spec.Finalizers, []corev1.FinalizerName{corev1.FinalizerKubernetes}) {
					return fmt.Errorf("spec.finalizers = %v, want [kubernetes]", got.Spec.Finalizers)
				}
				return nil
			})
			err := k8s.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"}})
			want := metav1.Status{
				Status:  metav1.StatusFailure,
				Code:    http.StatusForbidden,
				Reason:  metav1.StatusReasonForbidden,
				Message: fmt.Sprintf(`configmaps "late" is forbidden: unable to create new content in namespace %s because it is being terminated`, ns),
				Details: &metav1.StatusDetails{Name: "late", Kind: "configmaps", Causes: []metav1.StatusCause{{
					Type:    corev1.NamespaceTerminatingCause,
					Message: fmt.Sprintf("namespace %s is being terminated", ns),
					Field:   "metadata.namespace",
				}}},
			}
			if diff := cmp.Diff(want, apiStatus(t, err), cmpopts.IgnoreFields(metav1.Status{}, "TypeMeta")); diff != "" {
				t.Errorf("create in a terminating namespace (-want +got):\n%s", diff)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newNamespace(t))
		})
	}
}

func TestRBAC(t *testing.T) {
	bound, other := newNamespace(t), newNamespace(t)
	const user = "widget-viewer"
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: bound, Name: "widget-viewer-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := k8s.Create(t.Context(), binding); err != nil {
		t.Fatalf("create rolebinding: %v", err)
	}
	viewer, err := env.AddUser(envtest.User{Name: user}, &rest.Config{QPS: 1000, Burst: 2000})
	if err != nil {
		t.Fatalf("add user: %v", err)
	}
	c, err := client.New(viewer.Config(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("create client for %s: %v", user, err)
	}
	// The authorizer learns of new bindings through a watch.
	eventually(t, func(ctx context.Context) error {
		return c.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(bound))
	})

	forbidden := func(resource, verb, group, ns string) string {
		gr := resource
		if group != "" {
			gr += "." + group
		}
		return fmt.Sprintf(`%s is forbidden: User %q cannot %s resource %q in API group %q in the namespace %q`, gr, user, verb, resource, group, ns)
	}
	widgets := &unstructured.UnstructuredList{}
	widgets.SetGroupVersionKind(operator.GroupVersionKind.GroupVersion().WithKind("WidgetList"))
	tests := []struct {
		name string
		do   func(ctx context.Context) error
		// wantForbidden is the exact 403 message, or "" if allowed.
		wantForbidden string
	}{
		{"list configmaps in the bound namespace", func(ctx context.Context) error {
			return c.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(bound))
		}, ""},
		{"create a configmap in the bound namespace", func(ctx context.Context) error {
			return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: bound, Name: "viewer-made"}})
		}, forbidden("configmaps", "create", "", bound)},
		{"list configmaps in another namespace", func(ctx context.Context) error {
			return c.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(other))
		}, forbidden("configmaps", "list", "", other)},
		{"list widgets, which view does not aggregate", func(ctx context.Context) error {
			return c.List(ctx, widgets, client.InNamespace(bound))
		}, forbidden("widgets", "list", "example.skiff.dev", bound)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do(t.Context())
			switch {
			case tc.wantForbidden == "" && err != nil:
				t.Fatalf("want allowed, got %v", err)
			case tc.wantForbidden == "":
			case !apierrors.IsForbidden(err):
				t.Fatalf("want 403 Forbidden %q, got %v", tc.wantForbidden, err)
			case err.Error() != tc.wantForbidden:
				t.Errorf("error = %q, want %q", err.Error(), tc.wantForbidden)
			}
		})
	}
}

// TestKubectl drives the kubectl from the assets directory; its steps run
// in order against one widget.
func TestKubectl(t *testing.T) {
	ns := newNamespace(t)
	admin, err := env.AddUser(envtest.User{Name: "kubectl-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("add user: %v", err)
	}
	kubectl, err := admin.Kubectl()
	if err != nil {
		t.Fatalf("kubectl for admin: %v", err)
	}
	manifest := filepath.Join(t.TempDir(), "widget.yaml")
	if err := os.WriteFile(manifest, fmt.Appendf(nil, `apiVersion: example.skiff.dev/v1
kind: Widget
metadata:
  name: applied
  namespace: %s
spec:
  tier: gold
  color: red
`, ns), 0o644); err != nil {
		t.Fatal(err)
	}
	key := types.NamespacedName{Namespace: ns, Name: "applied"}

	tests := []struct {
		name   string
		before func(t *testing.T)
		args   []string
		check  func(t *testing.T, stdout, stderr string, err error)
	}{
		{
			name: "apply --server-side creates the widget",
			args: []string{"apply", "--server-side", "-f", manifest},
			check: func(t *testing.T, stdout, stderr string, err error) {
				wantOutput(t, stdout, stderr, err, "widget.example.skiff.dev/applied serverside-applied\n")
				w := operator.NewWidget()
				if err := k8s.Get(t.Context(), key, w); err != nil {
					t.Fatalf("get widget: %v", err)
				}
				if !slices.ContainsFunc(w.GetManagedFields(), func(m metav1.ManagedFieldsEntry) bool {
					return m.Manager == "kubectl" && m.Operation == metav1.ManagedFieldsOperationApply
				}) {
					t.Errorf("no Apply entry for manager kubectl in managedFields %+v", w.GetManagedFields())
				}
				if got := nested(w, "spec", "replicas"); got != int64(1) {
					t.Errorf("spec.replicas = %v, want the default 1", got)
				}
			},
		},
		{
			name: "apply --server-side conflicts with another manager's field",
			before: func(t *testing.T) {
				w := operator.NewWidget()
				err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
					if err := k8s.Get(t.Context(), key, w); err != nil {
						return err
					}
					w.Object["spec"].(map[string]any)["color"] = "green"
					return k8s.Update(t.Context(), w, client.FieldOwner("envtest-suite"))
				})
				if err != nil {
					t.Fatalf("update spec.color: %v", err)
				}
			},
			args: []string{"apply", "--server-side", "-f", manifest},
			check: func(t *testing.T, stdout, stderr string, err error) {
				if err == nil {
					t.Fatalf("apply succeeded, want a conflict; stdout:\n%s", stdout)
				}
				const conflict = `error: Apply failed with 1 conflict: conflict with "envtest-suite" using example.skiff.dev/v1: .spec.color` + "\n"
				if !strings.HasPrefix(stderr, conflict) {
					t.Errorf("stderr does not start with %q:\n%s", conflict, stderr)
				}
			},
		},
		{
			name: "apply --server-side --force-conflicts takes the field back",
			args: []string{"apply", "--server-side", "--force-conflicts", "-f", manifest},
			check: func(t *testing.T, stdout, stderr string, err error) {
				wantOutput(t, stdout, stderr, err, "widget.example.skiff.dev/applied serverside-applied\n")
				w := operator.NewWidget()
				if err := k8s.Get(t.Context(), key, w); err != nil {
					t.Fatalf("get widget: %v", err)
				}
				if got := nested(w, "spec", "color"); got != "red" {
					t.Errorf("spec.color = %v, want red", got)
				}
			},
		},
		{
			name:   "get widgets prints the CRD's columns",
			before: func(t *testing.T) { waitReconciled(t, ns, "applied") },
			args:   []string{"get", "widgets", "-n", ns},
			check: func(t *testing.T, stdout, stderr string, err error) {
				if err != nil {
					t.Fatalf("kubectl: %v\n%s", err, stderr)
				}
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				if len(lines) != 2 {
					t.Fatalf("want a header and one row, got:\n%s", stdout)
				}
				if got, want := strings.Fields(lines[0]), []string{"NAME", "REPLICAS", "TIER", "READY", "AGE"}; !slices.Equal(got, want) {
					t.Errorf("header = %q, want %q", got, want)
				}
				row := strings.Fields(lines[1])
				if len(row) != 5 || !slices.Equal(row[:4], []string{"applied", "1", "gold", "True"}) {
					t.Errorf("row = %q, want [applied 1 gold True <age>]", row)
				}
			},
		},
		{
			name: "short name resolves through discovery",
			args: []string{"get", "wdg", "-n", ns, "-o", "name"},
			check: func(t *testing.T, stdout, stderr string, err error) {
				wantOutput(t, stdout, stderr, err, "widget.example.skiff.dev/applied\n")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			stdout, stderr, err := kubectl.Run(tc.args...)
			tc.check(t, readAll(stdout), readAll(stderr), err)
		})
	}
}

// newNamespace creates a namespace for one test and returns its name.
// Namespaces are not deleted: nothing would finish deleting them.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "envtest-"}}
	if err := k8s.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// newWidget returns a Widget to create; spec values must be JSON-typed
// (int64, not int).
func newWidget(ns, name string, spec map[string]any) *unstructured.Unstructured {
	w := operator.NewWidget()
	w.SetNamespace(ns)
	w.SetName(name)
	if spec != nil {
		w.Object["spec"] = spec
	}
	return w
}

// writeFunc writes a Widget through one endpoint, updating it in place
// from the response.
type writeFunc func(ctx context.Context, w *unstructured.Unstructured) error

func mainResource(ctx context.Context, w *unstructured.Unstructured) error {
	return k8s.Update(ctx, w)
}

func statusSubresource(ctx context.Context, w *unstructured.Unstructured) error {
	return k8s.Status().Update(ctx, w)
}

// updateWidget reads the widget, applies mutate and writes it, retrying on
// conflicts with the operator. It returns the server's response.
func updateWidget(t *testing.T, ns, name string, mutate func(*unstructured.Unstructured), write writeFunc) (*unstructured.Unstructured, error) {
	t.Helper()
	w := operator.NewWidget()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: name}, w); err != nil {
			return err
		}
		mutate(w)
		return write(t.Context(), w)
	})
	return w, err
}

// waitReconciled polls until the operator has reconciled the widget's
// current generation, and returns the widget.
func waitReconciled(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	w := operator.NewWidget()
	eventually(t, func(ctx context.Context) error {
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, w); err != nil {
			return err
		}
		gen := w.GetGeneration()
		if got := nested(w, "status", "observedGeneration"); got != gen {
			return fmt.Errorf("status.observedGeneration = %v, want %d", got, gen)
		}
		if c := readyCondition(w); c["status"] != "True" || c["observedGeneration"] != gen {
			return fmt.Errorf("Ready condition = %v, want True for generation %d", c, gen)
		}
		return nil
	})
	return w
}

// readyCondition returns the Ready condition's status, reason, message and
// observedGeneration, or nil if there is none.
func readyCondition(w *unstructured.Unstructured) map[string]any {
	conditions, _, _ := unstructured.NestedSlice(w.Object, "status", "conditions")
	for _, c := range conditions {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != operator.ConditionReady {
			continue
		}
		out := map[string]any{}
		for _, k := range []string{"status", "reason", "message", "observedGeneration"} {
			if v, ok := m[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	return nil
}

// nested returns the value at path in w, or nil.
func nested(w *unstructured.Unstructured, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(w.Object, path...)
	return v
}

// celSkipped is upstream's detail for CEL rules left unevaluated.
const celSkipped = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"

// invalid is the 422 status upstream returns for a Widget failing
// validation: fieldErrs is the error list as printed, causes its items.
func invalid(name, fieldErrs string, causes ...metav1.StatusCause) metav1.Status {
	return metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnprocessableEntity,
		Reason:  metav1.StatusReasonInvalid,
		Message: fmt.Sprintf("Widget.example.skiff.dev %q is invalid: %s", name, fieldErrs),
		Details: &metav1.StatusDetails{
			Name:   name,
			Group:  "example.skiff.dev",
			Kind:   "Widget",
			Causes: causes,
		},
	}
}

// apiStatus returns the API status carried by err, failing t if err is nil
// or not an API error.
func apiStatus(t *testing.T, err error) metav1.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("request succeeded, want it rejected")
	}
	var s apierrors.APIStatus
	if !errors.As(err, &s) {
		t.Fatalf("error %v (%T) carries no API status", err, err)
	}
	return s.Status()
}

// eventually polls check until it returns nil, failing t with its last
// error after pollTimeout.
func eventually(t *testing.T, check func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, pollTimeout, true, func(context.Context) (bool, error) {
		// Each check gets its own deadline, so the last error is about the
		// object, not the poll's expiry.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("not within %v: %v", pollTimeout, last)
	}
}

// steady checks, for steadyWindow, that check keeps returning nil: it is
// how a test asserts that nothing removes or changes what it observes.
func steady(t *testing.T, check func(ctx context.Context) error) {
	t.Helper()
	var failed error
	_ = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, steadyWindow, true, func(context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		failed = check(ctx)
		return failed != nil, nil
	})
	if failed != nil {
		t.Fatal(failed)
	}
}

// wantOutput fails t unless kubectl succeeded and printed exactly want.
func wantOutput(t *testing.T, stdout, stderr string, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("kubectl: %v\nstderr:\n%s", err, stderr)
	}
	if stdout != want {
		t.Errorf("stdout = %q, want %q (stderr %q)", stdout, want, stderr)
	}
}

// readAll returns what kubectl wrote to r, an in-memory buffer.
func readAll(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}
