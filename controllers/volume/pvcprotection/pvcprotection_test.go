package pvcprotection

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPodUsesClaim(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns"}}
	ephemeral := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-scratch", Namespace: "ns",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "uid-web", Controller: ptr.To(true)}}}}
	claimVol := corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}
	ephVol := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}
	mk := func(node string, vols ...corev1.Volume) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-web"}, Spec: corev1.PodSpec{NodeName: node, Volumes: vols}}
	}
	shutDownPod := mk("n1", ephVol)
	now := metav1.Now()
	shutDownPod.DeletionTimestamp = &now
	shutDownPod.DeletionGracePeriodSeconds = ptr.To[int64](0)
	otherNS := mk("n1", claimVol)
	otherNS.Namespace = "other"
	cases := []struct {
		name string
		pod  *corev1.Pod
		pvc  *corev1.PersistentVolumeClaim
		want bool
	}{
		{"scheduled pod mounting it", mk("n1", claimVol), pvc, true},
		{"unscheduled pod does not hold it", mk("", claimVol), pvc, false},
		{"other claim", mk("n1", claimVol), &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"}}, false},
		{"other namespace", otherNS, pvc, false},
		{"its ephemeral volume", mk("n1", ephVol), ephemeral, true},
		{"same name, not its ephemeral volume", mk("n1", ephVol), &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-scratch", Namespace: "ns"}}, false},
		{"shut-down pod releases its ephemeral volume", shutDownPod, ephemeral, false},
	}
	for _, c := range cases {
		if got := PodUsesClaim(c.pod, c.pvc); got != c.want {
			t.Errorf("%s: PodUsesClaim = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestClaimsOfPod(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "a", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
		{Name: "b", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
		{Name: "c", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}}}
	got := claimsOfPod(nil, pod)
	if len(got) != 2 || got[0].Name != "data" || got[1].Name != "web-b" || got[0].Namespace != "ns" {
		t.Fatalf("claimsOfPod = %v", got)
	}
}
