package pvprotection

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestInUseAndPredicate(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name      string
		phase     corev1.PersistentVolumePhase
		deleting  bool
		finalizer bool
		inUse     bool
		considers bool
	}{
		{"bound, deleting", corev1.VolumeBound, true, true, true, true},
		{"released, deleting", corev1.VolumeReleased, true, true, false, true},
		{"available, deleting", corev1.VolumeAvailable, true, true, false, true},
		{"available, not deleting", corev1.VolumeAvailable, false, true, false, false},
		{"deleting without finalizer", corev1.VolumeReleased, true, false, false, false},
	}
	for _, c := range cases {
		pv := &corev1.PersistentVolume{Status: corev1.PersistentVolumeStatus{Phase: c.phase}}
		if c.deleting {
			pv.DeletionTimestamp = &now
		}
		if c.finalizer {
			pv.Finalizers = []string{Finalizer}
		}
		if got := InUse(pv); got != c.inUse {
			t.Errorf("%s: InUse = %v, want %v", c.name, got, c.inUse)
		}
		if got := deletingWithFinalizer(pv); got != c.considers {
			t.Errorf("%s: deletingWithFinalizer = %v, want %v", c.name, got, c.considers)
		}
	}
}
