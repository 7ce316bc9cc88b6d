package integration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
)

// TestLegacyBindings checks the core group's bindings resource, which
// upstream serves beside pods/binding: it is in discovery with the create
// verb only, a POST of a Binding binds the pod it names, once, and a
// Binding naming no pod is NotFound.
func TestLegacyBindings(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	client := server.Client()

	resources, err := discovery.NewDiscoveryClientForConfigOrDie(server.Config).ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	var found *metav1.APIResource
	for i := range resources.APIResources {
		if resources.APIResources[i].Name == "bindings" {
			found = &resources.APIResources[i]
		}
	}
	if found == nil {
		t.Fatal("v1 discovery has no bindings resource")
	}
	if !found.Namespaced || found.Kind != "Binding" || len(found.Verbs) != 1 || found.Verbs[0] != "create" {
		t.Errorf("bindings in discovery = %+v, want namespaced Binding with verbs [create]", found)
	}

	if _, err := client.CoreV1().Pods(ns).Create(ctx, newPod("legacy"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	post := func(name string) error {
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-legacy"}}
		return client.CoreV1().RESTClient().Post().Namespace(ns).Resource("bindings").Body(b).Do(ctx).Error()
	}
	if err := post("legacy"); err != nil {
		t.Fatalf("POST bindings: %v", err)
	}
	pod, err := client.CoreV1().Pods(ns).Get(ctx, "legacy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.NodeName != "node-legacy" {
		t.Errorf("spec.nodeName = %q after POST bindings, want node-legacy", pod.Spec.NodeName)
	}
	subresource := func(name string) error {
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-legacy"}}
		return client.CoreV1().Pods(ns).Bind(ctx, b, metav1.CreateOptions{})
	}
	stale := func(name string) error {
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "not-the-pods-uid"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n"}}
		return client.CoreV1().Pods(ns).Bind(ctx, b, metav1.CreateOptions{})
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, newPod("unbound"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Both endpoints answer with a Status, never a 500 (a missing pod was
	// one: the storage error went out unconverted).
	for _, c := range []struct {
		name string
		bind func(string) error
		pod  string
		want func(error) bool
	}{
		{"bindings, bound pod", post, "legacy", apierrors.IsConflict},
		{"bindings, missing pod", post, "missing", apierrors.IsNotFound},
		{"pods/binding, missing pod", subresource, "missing", apierrors.IsNotFound},
		{"pods/binding, wrong uid", stale, "unbound", apierrors.IsConflict},
	} {
		if err := c.bind(c.pod); !c.want(err) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
}

// TestPodFieldSelectorLabels checks every field label upstream accepts for
// pods is accepted (status.podIPs too, which upstream accepts though no pod
// has the field: it selects nothing but the empty value) and that others
// are refused with upstream's message.
func TestPodFieldSelectorLabels(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	pods := server.Client().CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, newPod("sel"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		selector string
		want     int // -1: refused
	}{
		{"metadata.name=sel", 1},
		{"metadata.namespace=" + ns, 1},
		{"spec.nodeName=", 1},
		{"spec.restartPolicy=Always", 1},
		{"spec.schedulerName=default-scheduler", 1},
		{"spec.serviceAccountName=default", 1},
		{"spec.hostNetwork=false", 1},
		{"status.phase=Pending", 1},
		{"status.podIP=", 1},
		{"status.podIPs=10.0.0.1", 0},
		{"status.nominatedNodeName=", 1},
		{"spec.containers=app", -1},
	} {
		list, err := pods.List(ctx, metav1.ListOptions{FieldSelector: c.selector})
		switch {
		case c.want < 0:
			if !apierrors.IsBadRequest(err) || !contains(err.Error(), "field label not supported: spec.containers") {
				t.Errorf("%s: err = %v, want BadRequest field label not supported", c.selector, err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.selector, err)
		case len(list.Items) != c.want:
			t.Errorf("%s: %d pods, want %d", c.selector, len(list.Items), c.want)
		}
	}
}
