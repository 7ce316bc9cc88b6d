package persistentvolume_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/volume/pvcprotection"
	"github.com/skiff-dev/skiff/controllers/volume/pvprotection"
)

func gone(get func(ctx context.Context) error) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

func TestProtectionFinalizers(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	core := env.Client.CoreV1()
	class := ns + "-prot"
	used, unused := ns+"-used", ns+"-unused"
	createPV(t, ctx, newPV(used, "1Gi", class, claimRef(ns, "used")))
	createPV(t, ctx, newPV(unused, "1Gi", class, claimRef(ns, "unused")))
	createPVC(t, ctx, ns, newPVC("used", "1Gi", &class))
	createPVC(t, ctx, ns, newPVC("unused", "1Gi", &class))
	waitBound(t, ns, "used", used, false)
	waitBound(t, ns, "unused", unused, false)
	for _, name := range []string{"used", "unused"} {
		c, err := core.PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(c.Finalizers, pvcprotection.Finalizer) {
			t.Fatalf("claim %s has finalizers %v: admission should add %s", name, c.Finalizers, pvcprotection.Finalizer)
		}
	}
	// A scheduled pod holds "used".
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "holder"},
		Spec: corev1.PodSpec{
			NodeName:   "somewhere",
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Volumes:    []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "used"}}}},
		},
	}
	if _, err := core.Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A bound volume being deleted stays while bound.
	if err := core.PersistentVolumes().Delete(ctx, used, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"used", "unused"} {
		if err := core.PersistentVolumeClaims(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, gone(func(ctx context.Context) error {
		_, err := core.PersistentVolumeClaims(ns).Get(ctx, "unused", metav1.GetOptions{})
		return err
	}), "unused claim deleted")
	// The controller has acted on the unused claim; the used one stays.
	c, err := core.PersistentVolumeClaims(ns).Get(ctx, "used", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("used claim: %v", err)
	}
	if c.DeletionTimestamp == nil || !slices.Contains(c.Finalizers, pvcprotection.Finalizer) {
		t.Fatalf("used claim: deletionTimestamp %v finalizers %v", c.DeletionTimestamp, c.Finalizers)
	}
	v, err := core.PersistentVolumes().Get(ctx, used, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("bound volume being deleted: %v", err)
	}
	if !slices.Contains(v.Finalizers, pvprotection.Finalizer) || v.Status.Phase != corev1.VolumeBound {
		t.Fatalf("bound volume: finalizers %v phase %s", v.Finalizers, v.Status.Phase)
	}

	// The pod goes: the claim goes, its volume is released and, being
	// deleted already, goes too.
	if err := core.Pods(ns).Delete(ctx, "holder", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, gone(func(ctx context.Context) error {
		_, err := core.PersistentVolumeClaims(ns).Get(ctx, "used", metav1.GetOptions{})
		return err
	}), "used claim deleted once its pod is gone")
	controllertest.Eventually(t, gone(func(ctx context.Context) error {
		v, err := core.PersistentVolumes().Get(ctx, used, metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("phase %s finalizers %v", v.Status.Phase, v.Finalizers)
		}
		return err
	}), "released volume deleted")
}
