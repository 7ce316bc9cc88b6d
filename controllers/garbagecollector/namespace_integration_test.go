package garbagecollector_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/controllers/controllertest"
)

func namespaceGone(ns string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return gone(err)
	}
}

func TestNamespaceDeletionRemovesEverything(t *testing.T) {
	dc := ensureWidgetCRD(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	createCM(t, ns, "cm", nil)
	createSecret(t, ns, "secret", nil)
	createWidget(t, dc, ns, "widget")
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	if err := env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, namespaceGone(ns), "namespace removed")
	cms, err := env.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(cms.Items) != 0 {
		t.Errorf("configmaps left: %v %v", cms, err)
	}
	secrets, err := env.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(secrets.Items) != 0 {
		t.Errorf("secrets left: %v %v", secrets, err)
	}
	pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods left: %v %v", pods, err)
	}
	widgets, err := dc.Resource(widgetGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(widgets.Items) != 0 {
		t.Errorf("widgets left: %v %v", widgets, err)
	}
}

func TestNamespaceConditionsWhileContentRemains(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	createCM(t, ns, "held", []string{holdFinalizer})
	createSecret(t, ns, "secret", nil)
	if err := env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[corev1.NamespaceConditionType][3]string{
		corev1.NamespaceDeletionDiscoveryFailure: {"False", "ResourcesDiscovered", "All resources successfully discovered"},
		corev1.NamespaceDeletionGVParsingFailure: {"False", "ParsedGroupVersions", "All legacy kube types successfully parsed"},
		corev1.NamespaceDeletionContentFailure:   {"False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
		corev1.NamespaceContentRemaining:         {"True", "SomeResourcesRemain", "Some resources are remaining: configmaps. has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {"True", "SomeFinalizerRemain", "Some finalizers are remaining: " + holdFinalizer + " in 1 resource instances"},
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		n, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			// Fail at once: the namespace went while content remains.
			t.Fatalf("namespace %s removed while a configmap with a finalizer remains", ns)
		}
		if err != nil {
			return false, err
		}
		if n.Status.Phase != corev1.NamespaceTerminating {
			return false, nil
		}
		for typ, w := range want {
			found := false
			for _, c := range n.Status.Conditions {
				if c.Type == typ {
					found = string(c.Status) == w[0] && c.Reason == w[1] && c.Message == w[2]
				}
			}
			if !found {
				return false, fmt.Errorf("phase %s, conditions %+v", n.Status.Phase, n.Status.Conditions)
			}
		}
		return true, nil
	}, "namespace conditions while a finalizer holds content")
	// The secret went; the held configmap is being deleted and stays.
	controllertest.Eventually(t, secretGone(ns, "secret"), "secret deleted")
	cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("held configmap: %v", err)
	}
	if cm.DeletionTimestamp == nil {
		t.Errorf("held configmap not being deleted")
	}
	if _, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace gone while content remains: %v", err)
	}
	releaseCM(t, ns, "held")
	controllertest.Eventually(t, namespaceGone(ns), "namespace removed once the finalizer is gone")
}
