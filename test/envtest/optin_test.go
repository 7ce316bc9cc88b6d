package envtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestInProcessControllersOptIn starts a second stock envtest environment
// on the same assets with SKIFF_CONTROLLERS=garbagecollector,namespace in
// its environment: Skiff's kube-apiserver then collects owned objects and
// finishes namespace deletion, which a bare kube-apiserver never does.
func TestInProcessControllersOptIn(t *testing.T) {
	t.Setenv("SKIFF_CONTROLLERS", "garbagecollector,namespace")
	optIn := &envtest.Environment{
		BinaryAssetsDirectory:    env.BinaryAssetsDirectory,
		ControlPlaneStartTimeout: 45 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cfg, err := optIn.Start()
	if err != nil {
		t.Fatalf("start envtest with SKIFF_CONTROLLERS: %v", err)
	}
	t.Cleanup(func() {
		if err := optIn.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opt-in"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	owner, err := client.CoreV1().ConfigMaps("opt-in").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dependent", OwnerReferences: []metav1.OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID},
	}}}
	if _, err := client.CoreV1().ConfigMaps("opt-in").Create(ctx, dependent, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().ConfigMaps("opt-in").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func(ctx context.Context) error {
		_, err := client.CoreV1().ConfigMaps("opt-in").Get(ctx, "dependent", metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("the dependent of a deleted owner still exists")
		}
		return notFoundIsDone(err)
	})
	if err := client.CoreV1().Namespaces().Delete(ctx, "opt-in", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func(ctx context.Context) error {
		_, err := client.CoreV1().Namespaces().Get(ctx, "opt-in", metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("the deleted namespace still exists")
		}
		return notFoundIsDone(err)
	})
}

// notFoundIsDone is nil for a NotFound error and the error otherwise.
func notFoundIsDone(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
