package garbagecollector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/controllers/namespace"
)

var env *controllertest.Env

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{
		Controllers: []controllers.Descriptor{garbagecollector.Descriptor, namespace.Descriptor},
	})
}

const holdFinalizer = "gc.skiff.test/hold"

func owner(apiVersion, kind string, obj metav1.Object, block bool) metav1.OwnerReference {
	ref := metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID()}
	if block {
		ref.BlockOwnerDeletion = ptr.To(true)
	}
	return ref
}

func cmOwner(cm *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return owner("v1", "ConfigMap", cm, block)
}

func createCM(t *testing.T, ns, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := env.Client.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers, OwnerReferences: owners},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap %s: %v", name, err)
	}
	return cm
}

func createSecret(t *testing.T, ns, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.Secret {
	t.Helper()
	s, err := env.Client.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers, OwnerReferences: owners},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
	return s
}

func deleteCM(t *testing.T, ns, name string, policy metav1.DeletionPropagation) {
	t.Helper()
	if err := env.Client.CoreV1().ConfigMaps(ns).Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		t.Fatalf("delete configmap %s: %v", name, err)
	}
}

// releaseCM removes every finalizer but the GC's from a configmap.
func releaseCM(t *testing.T, ns, name string) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"metadata":{"finalizers":null}}`))
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("release configmap %s: %v", name, err)
	}
}

func releaseSecret(t *testing.T, ns, name string) {
	t.Helper()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := env.Client.CoreV1().Secrets(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("release secret %s: %v", name, err)
	}
}

func gone(err error) (bool, error) {
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

func cmGone(ns, name string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		return gone(err)
	}
}

func secretGone(ns, name string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		return gone(err)
	}
}

func TestAPIServerAddsPropagationFinalizers(t *testing.T) {
	ns := env.Namespace(t)
	tests := []struct {
		policy metav1.DeletionPropagation
		want   string
	}{
		{metav1.DeletePropagationForeground, metav1.FinalizerDeleteDependents},
		{metav1.DeletePropagationOrphan, metav1.FinalizerOrphanDependents},
		{metav1.DeletePropagationBackground, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			name := strings.ToLower(string(tt.policy))
			createCM(t, ns, name, []string{holdFinalizer})
			defer releaseCM(t, ns, name)
			// The DELETE response is the object as the server left it.
			var got corev1.ConfigMap
			err := env.Client.CoreV1().RESTClient().Delete().Namespace(ns).Resource("configmaps").Name(name).
				Body(&metav1.DeleteOptions{PropagationPolicy: &tt.policy}).Do(context.Background()).Into(&got)
			if err != nil {
				t.Fatalf("delete: %v", err)
			}
			if got.DeletionTimestamp == nil {
				t.Fatalf("no deletionTimestamp after delete")
			}
			has := map[string]bool{}
			for _, f := range got.Finalizers {
				has[f] = true
			}
			if !has[holdFinalizer] {
				t.Errorf("finalizers %v lost %s", got.Finalizers, holdFinalizer)
			}
			for _, f := range []string{metav1.FinalizerDeleteDependents, metav1.FinalizerOrphanDependents} {
				if has[f] != (f == tt.want) {
					t.Errorf("finalizers = %v, want %q among the GC's", got.Finalizers, tt.want)
				}
			}
			// With no dependents the collector removes its finalizer.
			if tt.want != "" {
				controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
					cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return false, err
					}
					return len(cm.Finalizers) == 1 && cm.Finalizers[0] == holdFinalizer, nil
				}, "collector removes %s", tt.want)
			}
		})
	}
}

func TestBackgroundCascade(t *testing.T) {
	ns := env.Namespace(t)
	parent := createCM(t, ns, "parent", nil)
	child := createSecret(t, ns, "child", nil, cmOwner(parent, false))
	grandchild := createCM(t, ns, "grandchild", nil, owner("v1", "Secret", child, false))
	bystander := createCM(t, ns, "bystander", nil)
	deleteCM(t, ns, parent.Name, metav1.DeletePropagationBackground)
	controllertest.Eventually(t, cmGone(ns, parent.Name), "parent deleted")
	controllertest.Eventually(t, secretGone(ns, child.Name), "child secret collected")
	controllertest.Eventually(t, cmGone(ns, grandchild.Name), "grandchild configmap collected")
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), bystander.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("unowned configmap: %v", err)
	}
}

func TestOwnerAlreadyGoneAtCreate(t *testing.T) {
	ns := env.Namespace(t)
	child := createCM(t, ns, "child", nil, metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "never", UID: "00000000-0000-0000-0000-000000000001"})
	controllertest.Eventually(t, cmGone(ns, child.Name), "dependent of a nonexistent owner collected")
}

func TestForegroundCascadeWaitsForBlockingDependents(t *testing.T) {
	ns := env.Namespace(t)
	parent := createCM(t, ns, "parent", nil)
	blocking := createSecret(t, ns, "blocking", []string{holdFinalizer}, cmOwner(parent, true))
	nonblocking := createCM(t, ns, "nonblocking", nil, cmOwner(parent, false))
	deleteCM(t, ns, parent.Name, metav1.DeletePropagationForeground)

	controllertest.Eventually(t, cmGone(ns, nonblocking.Name), "non-blocking dependent deleted")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := env.Client.CoreV1().Secrets(ns).Get(ctx, blocking.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return s.DeletionTimestamp != nil, nil
	}, "blocking dependent being deleted")
	// The owner waits while the blocking dependent exists.
	p, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), parent.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("owner gone before its blocking dependent: %v", err)
	}
	if p.DeletionTimestamp == nil || len(p.Finalizers) != 1 || p.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Fatalf("owner = deletion %v finalizers %v, want foregroundDeletion", p.DeletionTimestamp, p.Finalizers)
	}
	releaseSecret(t, ns, blocking.Name)
	controllertest.Eventually(t, secretGone(ns, blocking.Name), "blocking dependent deleted")
	controllertest.Eventually(t, cmGone(ns, parent.Name), "owner deleted after its dependents")
}

func TestForegroundCascadeDoesNotWaitForNonBlocking(t *testing.T) {
	ns := env.Namespace(t)
	parent := createCM(t, ns, "parent", nil)
	child := createSecret(t, ns, "child", []string{holdFinalizer}, cmOwner(parent, false))
	defer releaseSecret(t, ns, child.Name)
	deleteCM(t, ns, parent.Name, metav1.DeletePropagationForeground)
	controllertest.Eventually(t, cmGone(ns, parent.Name), "owner deleted")
	s, err := env.Client.CoreV1().Secrets(ns).Get(context.Background(), child.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get child: %v", err)
	}
	if s.DeletionTimestamp == nil {
		t.Errorf("non-blocking child not deleted")
	}
}

func TestForegroundCascadeChain(t *testing.T) {
	ns := env.Namespace(t)
	parent := createCM(t, ns, "parent", nil)
	child := createCM(t, ns, "child", nil, cmOwner(parent, true))
	grandchild := createSecret(t, ns, "grandchild", []string{holdFinalizer}, cmOwner(child, true))
	deleteCM(t, ns, parent.Name, metav1.DeletePropagationForeground)
	// The child has dependents, so it is itself deleted in foreground.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		c, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, child.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, f := range c.Finalizers {
			if f == metav1.FinalizerDeleteDependents {
				return c.DeletionTimestamp != nil, nil
			}
		}
		return false, nil
	}, "child deleted in foreground")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := env.Client.CoreV1().Secrets(ns).Get(ctx, grandchild.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return s.DeletionTimestamp != nil, nil
	}, "grandchild being deleted")
	for _, name := range []string{parent.Name, child.Name} {
		if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			t.Fatalf("%s gone before the grandchild: %v", name, err)
		}
	}
	releaseSecret(t, ns, grandchild.Name)
	controllertest.Eventually(t, cmGone(ns, child.Name), "child deleted")
	controllertest.Eventually(t, cmGone(ns, parent.Name), "parent deleted")
}

func TestOrphan(t *testing.T) {
	ns := env.Namespace(t)
	parent := createCM(t, ns, "parent", nil)
	other := createCM(t, ns, "other", nil)
	child := createSecret(t, ns, "child", nil, cmOwner(parent, true), cmOwner(other, false))
	lone := createCM(t, ns, "lone", nil, cmOwner(parent, false))
	deleteCM(t, ns, parent.Name, metav1.DeletePropagationOrphan)
	controllertest.Eventually(t, cmGone(ns, parent.Name), "owner deleted")
	s, err := env.Client.CoreV1().Secrets(ns).Get(context.Background(), child.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("orphaned child: %v", err)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != other.UID {
		t.Errorf("child owners = %v, want only %s", s.OwnerReferences, other.UID)
	}
	c, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), lone.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("orphaned configmap: %v", err)
	}
	if len(c.OwnerReferences) != 0 {
		t.Errorf("orphan still has owners %v", c.OwnerReferences)
	}
}

func TestDanglingPartialOwners(t *testing.T) {
	ns := env.Namespace(t)
	a := createCM(t, ns, "a", nil)
	b := createSecret(t, ns, "b", nil)
	child := createCM(t, ns, "child", nil, cmOwner(a, false), owner("v1", "Secret", b, false))
	deleteCM(t, ns, a.Name, metav1.DeletePropagationBackground)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		c, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, child.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(c.OwnerReferences) == 1 && c.OwnerReferences[0].UID == b.UID, nil
	}, "dangling reference removed, remaining owner kept")
	if err := env.Client.CoreV1().Secrets(ns).Delete(context.Background(), b.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, cmGone(ns, child.Name), "child collected once its last owner is gone")
}

func TestClusterScopedOwner(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	role, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "gc-owner-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	child := createCM(t, ns, "child", nil, owner("rbac.authorization.k8s.io/v1", "ClusterRole", role, false))
	sibling := createCM(t, ns, "sibling", nil)
	// A control object created after the child: once it is collected the
	// collector has seen the child too.
	probe := createCM(t, ns, "probe", nil, cmOwner(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "missing", UID: "00000000-0000-0000-0000-000000000002"}}, false))
	controllertest.Eventually(t, cmGone(ns, probe.Name), "probe collected")
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, child.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("dependent of an existing cluster-scoped owner: %v", err)
	}
	if err := env.Client.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, cmGone(ns, child.Name), "dependent of a deleted cluster-scoped owner collected")
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, sibling.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("sibling: %v", err)
	}
}

func TestCrossNamespaceOwnerIsAbsent(t *testing.T) {
	ns1, ns2 := env.Namespace(t), env.Namespace(t)
	parent := createCM(t, ns1, "parent", nil)
	// Let the collector observe the owner first (a probe created after it
	// in the same namespace gets collected only once the collector runs).
	probe := createCM(t, ns1, "probe", nil, cmOwner(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "missing", UID: "00000000-0000-0000-0000-000000000003"}}, false))
	controllertest.Eventually(t, cmGone(ns1, probe.Name), "probe collected")
	child := createCM(t, ns2, "child", nil, cmOwner(parent, false))
	controllertest.Eventually(t, cmGone(ns2, child.Name), "dependent naming an owner in another namespace collected")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(ns2).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "OwnerRefInvalidNamespace" && e.InvolvedObject.UID == child.UID && e.Type == corev1.EventTypeWarning {
				return true, nil
			}
		}
		return false, nil
	}, "OwnerRefInvalidNamespace event")
	if _, err := env.Client.CoreV1().ConfigMaps(ns1).Get(context.Background(), parent.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("owner itself: %v", err)
	}
}

var widgetGVR = schema.GroupVersionResource{Group: "gc.skiff.test", Version: "v1", Resource: "widgets"}

// ensureWidgetCRD installs a namespaced Widget CRD once and waits until it
// is established and served.
func ensureWidgetCRD(t *testing.T) dynamic.Interface {
	t.Helper()
	ctx := context.Background()
	ac, err := apiextensionsclient.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.gc.skiff.test"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "gc.skiff.test",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
	if _, err := ac.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create CRD: %v", err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := ac.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}, "CRD established")
	dc, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		_, err := dc.Resource(widgetGVR).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, err
	}, "widgets served")
	return dc
}

func createWidget(t *testing.T, dc dynamic.Interface, ns, name string, finalizers ...string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gc.skiff.test/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"size": int64(1)},
	}}
	u.SetFinalizers(finalizers)
	got, err := dc.Resource(widgetGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create widget %s: %v", name, err)
	}
	return got
}

func widgetGone(dc dynamic.Interface, ns, name string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := dc.Resource(widgetGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		return gone(err)
	}
}

func TestCustomResourceOwners(t *testing.T) {
	dc := ensureWidgetCRD(t)
	ns := env.Namespace(t)
	ctx := context.Background()

	t.Run("background", func(t *testing.T) {
		w := createWidget(t, dc, ns, "bg")
		cm := createCM(t, ns, "bg-child", nil, owner("gc.skiff.test/v1", "Widget", w, false))
		if err := dc.Resource(widgetGVR).Namespace(ns).Delete(ctx, w.GetName(), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, cmGone(ns, cm.Name), "configmap owned by a deleted widget collected")
	})
	t.Run("foreground", func(t *testing.T) {
		w := createWidget(t, dc, ns, "fg")
		cm := createCM(t, ns, "fg-child", []string{holdFinalizer}, owner("gc.skiff.test/v1", "Widget", w, true))
		fg := metav1.DeletePropagationForeground
		if err := dc.Resource(widgetGVR).Namespace(ns).Delete(ctx, w.GetName(), metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			c, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return c.DeletionTimestamp != nil, nil
		}, "blocking configmap being deleted")
		got, err := dc.Resource(widgetGVR).Namespace(ns).Get(ctx, w.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("widget gone before its blocking dependent: %v", err)
		}
		if got.GetDeletionTimestamp() == nil {
			t.Fatalf("widget not being deleted")
		}
		releaseCM(t, ns, cm.Name)
		controllertest.Eventually(t, widgetGone(dc, ns, w.GetName()), "widget deleted after its dependent")
	})
	t.Run("orphan", func(t *testing.T) {
		w := createWidget(t, dc, ns, "orphan")
		cm := createCM(t, ns, "orphan-child", nil, owner("gc.skiff.test/v1", "Widget", w, true))
		or := metav1.DeletePropagationOrphan
		if err := dc.Resource(widgetGVR).Namespace(ns).Delete(ctx, w.GetName(), metav1.DeleteOptions{PropagationPolicy: &or}); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, widgetGone(dc, ns, w.GetName()), "widget deleted")
		c, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("orphaned configmap: %v", err)
		}
		if len(c.OwnerReferences) != 0 {
			t.Errorf("orphan still has owners %v", c.OwnerReferences)
		}
	})
	t.Run("configmap owns widget", func(t *testing.T) {
		parent := createCM(t, ns, "widget-parent", nil)
		w := createWidget(t, dc, ns, "owned")
		w.SetOwnerReferences([]metav1.OwnerReference{cmOwner(parent, false)})
		if _, err := dc.Resource(widgetGVR).Namespace(ns).Update(ctx, w, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		deleteCM(t, ns, parent.Name, metav1.DeletePropagationBackground)
		controllertest.Eventually(t, widgetGone(dc, ns, w.GetName()), "widget owned by a deleted configmap collected")
	})
}

func TestClusterScopedDependentOfNamespacedOwner(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	parent := createCM(t, ns, "parent", nil)
	role, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{
		GenerateName:    "gc-invalid-",
		OwnerReferences: []metav1.OwnerReference{cmOwner(parent, false)},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Client.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
	// Events about cluster-scoped objects land in "default".
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "OwnerRefInvalidNamespace" && e.InvolvedObject.UID == role.UID {
				return true, nil
			}
		}
		return false, nil
	}, "OwnerRefInvalidNamespace event for the cluster-scoped dependent")
	// Its reference cannot be resolved, so it is never collected, even
	// once the configmap is gone.
	deleteCM(t, ns, parent.Name, metav1.DeletePropagationBackground)
	probe := createCM(t, ns, "probe", nil, cmOwner(parent, false))
	controllertest.Eventually(t, cmGone(ns, probe.Name), "namespaced dependent of the deleted configmap collected")
	if _, err := env.Client.RbacV1().ClusterRoles().Get(ctx, role.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("cluster-scoped dependent with a namespaced owner was collected: %v", err)
	}
}
