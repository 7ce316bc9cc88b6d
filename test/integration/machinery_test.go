package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
)

func newNamespace(t *testing.T) string {
	t.Helper()
	ns, err := server.Client().CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func TestVersionAndDiscovery(t *testing.T) {
	dc := discovery.NewDiscoveryClientForConfigOrDie(server.Config)
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.GitVersion, "v1.37.2+skiff.") || v.Major != "1" || v.Minor != "37" {
		t.Fatalf("/version = %+v, want v1.37.2+skiff.* 1/37", v)
	}
	_, resources, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"v1/configmaps": false, "v1/namespaces": false, "v1/secrets": false, "v1/serviceaccounts": false, "v1/events": false,
		"coordination.k8s.io/v1/leases": false, "rbac.authorization.k8s.io/v1/clusterroles": false,
		"admissionregistration.k8s.io/v1/validatingadmissionpolicies": false, "apiextensions.k8s.io/v1/customresourcedefinitions": false,
		"apiregistration.k8s.io/v1/apiservices": false, "authorization.k8s.io/v1/selfsubjectaccessreviews": false,
		"authentication.k8s.io/v1/tokenreviews": false,
	}
	for _, list := range resources {
		for _, r := range list.APIResources {
			key := list.GroupVersion + "/" + r.Name
			if _, ok := want[key]; ok {
				want[key] = true
			}
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("discovery lacks %s", k)
		}
	}
}

func TestServerSideApplyConflicts(t *testing.T) {
	ns := newNamespace(t)
	cms := server.Client().CoreV1().ConfigMaps(ns)
	ctx := context.Background()
	if _, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{"k": "a"}), metav1.ApplyOptions{FieldManager: "one"}); err != nil {
		t.Fatal(err)
	}
	_, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{"k": "b"}), metav1.ApplyOptions{FieldManager: "two"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `conflict with "one"`) || !strings.Contains(err.Error(), ".data.k") {
		t.Fatalf("second manager's apply: %v, want a conflict with \"one\" on .data.k", err)
	}
	cm, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", ns).WithData(map[string]string{"k": "b"}), metav1.ApplyOptions{FieldManager: "two", Force: true})
	if err != nil || cm.Data["k"] != "b" {
		t.Fatalf("forced apply: %v %v", err, cm)
	}
}

func TestListPaginationAndSelectors(t *testing.T) {
	ns := newNamespace(t)
	cms := server.Client().CoreV1().ConfigMaps(ns)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		labels := map[string]string{"parity": []string{"even", "odd"}[i%2]}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 3}
	for pages := 0; ; pages++ {
		list, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, cm := range list.Items {
			names = append(names, cm.Name)
		}
		if list.Continue == "" {
			if pages != 2 {
				t.Errorf("got %d pages after the first, want 2", pages)
			}
			break
		}
		opts.Continue = list.Continue
	}
	if len(names) != 7 {
		t.Fatalf("paginated list returned %d items, want 7: %v", len(names), names)
	}
	tests := []struct {
		name string
		opts metav1.ListOptions
		want int
	}{
		{name: "label", opts: metav1.ListOptions{LabelSelector: "parity=odd"}, want: 3},
		{name: "label set", opts: metav1.ListOptions{LabelSelector: "parity in (odd,even)"}, want: 7},
		{name: "field name", opts: metav1.ListOptions{FieldSelector: "metadata.name=cm-4"}, want: 1},
		{name: "field not", opts: metav1.ListOptions{FieldSelector: "metadata.name!=cm-4"}, want: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := cms.List(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != tt.want {
				t.Fatalf("got %d items, want %d", len(list.Items), tt.want)
			}
		})
	}
	_, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "data.k=v"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `field label not supported: data.k`) {
		t.Fatalf("unsupported field selector: %v, want BadRequest field label not supported", err)
	}
}

func TestWatchListAndBookmarks(t *testing.T) {
	ns := newNamespace(t)
	cms := server.Client().CoreV1().ConfigMaps(ns)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{
		SendInitialEvents: ptr.To(true), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var sawInitial, sawEnd, sawAfter bool
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Added:
			name := ev.Object.(*corev1.ConfigMap).Name
			if name == "before" && !sawEnd {
				sawInitial = true
			}
			if name == "after" && sawEnd {
				sawAfter = true
			}
		case watch.Bookmark:
			if ev.Object.(*corev1.ConfigMap).Annotations[metav1.InitialEventsAnnotationKey] == "true" {
				sawEnd = true
				if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		case watch.Error:
			t.Fatalf("watch error: %v", ev.Object)
		}
		if sawAfter {
			break
		}
	}
	if !sawInitial || !sawEnd || !sawAfter {
		t.Fatalf("initial event %v, initial-events-end bookmark %v, later event %v: want all", sawInitial, sawEnd, sawAfter)
	}
}

func TestDeletionSemantics(t *testing.T) {
	ns := newNamespace(t)
	client := server.Client()
	cms := client.CoreV1().ConfigMaps(ns)
	ctx := context.Background()

	// Foreground deletion adds the foregroundDeletion finalizer and, with no
	// garbage collector in the API server, the object stays until it is
	// removed.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fg"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(ctx, "fg", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("foreground-deleted object gone at once: %v", err)
	}
	if cm.DeletionTimestamp == nil || len(cm.Finalizers) != 1 || cm.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Fatalf("deletionTimestamp %v finalizers %v, want set and [foregroundDeletion]", cm.DeletionTimestamp, cm.Finalizers)
	}
	if _, err := cms.Patch(ctx, "fg", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cms.Get(ctx, "fg", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Fatal("object not removed once its finalizer was")
	}

	// Dry-run creates nothing; generateName makes a name.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create persisted: %v", err)
	}
	gen, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
	if err != nil || !strings.HasPrefix(gen.Name, "gen-") || len(gen.Name) != len("gen-")+5 {
		t.Fatalf("generateName: %v %q", err, gen.GetName())
	}

	// Namespace delete: Terminating, kubernetes finalizer kept, contents kept.
	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != corev1.NamespaceTerminating || got.DeletionTimestamp == nil || len(got.Spec.Finalizers) != 1 {
		t.Fatalf("namespace after delete: phase %q deletionTimestamp %v finalizers %v", got.Status.Phase, got.DeletionTimestamp, got.Spec.Finalizers)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "because it is being terminated") {
		t.Fatalf("create in terminating namespace: %v, want Forbidden ... because it is being terminated", err)
	}
	// A plain update of a terminating namespace whose spec still holds the
	// kubernetes finalizer must not remove it.
	got.Labels = map[string]string{"touched": "yes"}
	if got, err = client.CoreV1().Namespaces().Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update terminating namespace: %v", err)
	}
	// Emptying spec.finalizers through /finalize removes it.
	got.Spec.Finalizers = nil
	if _, err := client.CoreV1().Namespaces().Finalize(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Fatal("finalized namespace not removed")
	}
}

func TestSecretStringDataIsMergedIntoData(t *testing.T) {
	ns := newNamespace(t)
	secrets := server.Client().CoreV1().Secrets(ns)
	ctx := context.Background()
	s, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s"},
		Data:       map[string][]byte{"a": []byte("from-data"), "b": []byte("kept")},
		StringData: map[string]string{"a": "from-stringdata"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["a"]) != "from-stringdata" || string(s.Data["b"]) != "kept" || s.StringData != nil || s.Type != corev1.SecretTypeOpaque {
		t.Fatalf("stored secret: data %q stringData %v type %q", s.Data, s.StringData, s.Type)
	}
}
