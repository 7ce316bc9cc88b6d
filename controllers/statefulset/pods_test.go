package statefulset

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func testSet(replicas int32, start int32, policy *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy) *appsv1.StatefulSet {
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "set-uid"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			ServiceName: "svc",
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{
				{ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"t": "x"}}},
			},
			PersistentVolumeClaimRetentionPolicy: policy,
		},
	}
	if start > 0 {
		set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: start}
	}
	return set
}

func TestParentAndOrdinal(t *testing.T) {
	for _, tc := range []struct {
		name, parent string
		ordinal      int
	}{
		{"web-0", "web", 0},
		{"my-web-12", "my-web", 12},
		{"web", "", -1},
		{"web-x", "", -1},
		{"web-99999999999", "", -1},
	} {
		p, o := parentAndOrdinal(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.name}})
		if p != tc.parent || o != tc.ordinal {
			t.Errorf("%s: got %q %d, want %q %d", tc.name, p, o, tc.parent, tc.ordinal)
		}
	}
}

func TestNewPodIdentityAndStorage(t *testing.T) {
	set := testSet(3, 5, nil)
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c"}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}
	pod := newPod(set, tmpl, 6, "web-abc")
	if pod.Name != "web-6" || pod.Spec.Hostname != "web-6" || pod.Spec.Subdomain != "svc" {
		t.Errorf("identity %s %s %s", pod.Name, pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	if pod.Labels[appsv1.StatefulSetPodNameLabel] != "web-6" || pod.Labels[appsv1.PodIndexLabel] != "6" || pod.Labels[appsv1.StatefulSetRevisionLabel] != "web-abc" || pod.Labels["app"] != "web" {
		t.Errorf("labels %v", pod.Labels)
	}
	if tmpl.Labels[appsv1.StatefulSetPodNameLabel] != "" {
		t.Errorf("template mutated")
	}
	if len(pod.Spec.Volumes) != 2 || pod.Spec.Volumes[0].PersistentVolumeClaim == nil || pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-web-6" || pod.Spec.Volumes[1].Name != "cfg" {
		t.Errorf("volumes %+v", pod.Spec.Volumes)
	}
	if !identityMatches(set, pod) {
		t.Errorf("identity does not match")
	}
	claims := claimsFor(set, 6)
	if len(claims) != 1 || claims[0].Name != "data-web-6" || claims[0].Labels["t"] != "x" || claims[0].Labels["app"] != "web" {
		t.Errorf("claims %+v", claims)
	}
	if !inOrdinalRange(set, 5) || !inOrdinalRange(set, 7) || inOrdinalRange(set, 4) || inOrdinalRange(set, 8) {
		t.Errorf("ordinal range wrong")
	}
}

func TestDesiredClaimRefs(t *testing.T) {
	del, retain := appsv1.DeletePersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	foreign := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "cm", Controller: ptr.To(true)}
	for _, tc := range []struct {
		name                    string
		whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType
		ordinal                 int
		existing                []metav1.OwnerReference
		wantKinds               []string // controller kinds wanted
		wantChanged             bool
	}{
		{"retain keeps none", retain, retain, 0, nil, nil, false},
		{"whenDeleted delete: set", del, retain, 0, nil, []string{"StatefulSet"}, true},
		{"whenDeleted delete: set even when scaled down", del, retain, 3, nil, []string{"StatefulSet"}, true},
		{"whenScaled delete in range: none", retain, del, 1, nil, nil, false},
		{"whenScaled delete scaled down: pod", retain, del, 2, nil, []string{"Pod"}, true},
		{"both delete in range: set", del, del, 0, nil, []string{"StatefulSet"}, true},
		{"both delete scaled down: pod only", del, del, 2, []metav1.OwnerReference{*metav1.NewControllerRef(testSet(2, 0, nil), setKind)}, []string{"Pod"}, true},
		{"retain removes our refs", retain, retain, 0, []metav1.OwnerReference{*metav1.NewControllerRef(testSet(2, 0, nil), setKind)}, nil, true},
		{"foreign controller kept, ours not added", del, retain, 0, []metav1.OwnerReference{foreign}, []string{"ConfigMap"}, false},
		{"stale set ref left alone", del, retain, 0, []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: "old", Controller: ptr.To(true)}}, []string{"StatefulSet"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := testSet(2, 0, &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: tc.whenDeleted, WhenScaled: tc.whenScaled})
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName(set, tc.ordinal), Namespace: "ns", UID: types.UID("pod-uid")}}
			claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{OwnerReferences: tc.existing}}
			refs, changed := desiredClaimRefs(set, pod, claim)
			var kinds []string
			for _, r := range refs {
				if r.Controller != nil && *r.Controller {
					kinds = append(kinds, r.Kind)
				}
			}
			if changed != tc.wantChanged || len(kinds) != len(tc.wantKinds) {
				t.Fatalf("refs %v changed %v, want kinds %v changed %v", refs, changed, tc.wantKinds, tc.wantChanged)
			}
			for i := range kinds {
				if kinds[i] != tc.wantKinds[i] {
					t.Errorf("kinds %v, want %v", kinds, tc.wantKinds)
				}
			}
		})
	}
}

func TestAvailability(t *testing.T) {
	now := time.Now()
	ready := func(phase corev1.PodPhase, since time.Duration) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-since)),
		}}}}
	}
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		minReady int32
		want     time.Duration
	}{
		{"not running", ready(corev1.PodPending, time.Hour), 0, -1},
		{"ready, no minReady", ready(corev1.PodRunning, 0), 0, 0},
		{"ready long enough", ready(corev1.PodRunning, time.Minute), 10, 0},
		{"ready too recently", ready(corev1.PodRunning, 4*time.Second), 10, 6 * time.Second},
		{"no condition", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}, 0, -1},
	} {
		got := availableIn(tc.pod, tc.minReady, now)
		if got != tc.want && got.Round(time.Second) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
