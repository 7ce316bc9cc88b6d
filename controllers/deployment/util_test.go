package deployment

import (
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func rolling(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(replicas),
		Strategy: appsv1.DeploymentStrategy{
			Type:          appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
		},
	}}
}

func TestFenceposts(t *testing.T) {
	cases := []struct {
		name               string
		d                  *appsv1.Deployment
		surge, unavailable int32
	}{
		{"defaults 25% of 10", rolling(10, intstr.FromString("25%"), intstr.FromString("25%")), 3, 2},
		{"both zero", rolling(10, intstr.FromInt32(0), intstr.FromInt32(0)), 0, 1},
		{"unavailable capped at replicas", rolling(2, intstr.FromInt32(0), intstr.FromInt32(5)), 0, 2},
		{"zero replicas", rolling(0, intstr.FromInt32(1), intstr.FromInt32(1)), 1, 0},
		{"recreate", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}, 0, 0},
	}
	for _, c := range cases {
		if s, u := MaxSurge(c.d), MaxUnavailable(c.d); s != c.surge || u != c.unavailable {
			t.Errorf("%s: surge %d unavailable %d, want %d %d", c.name, s, u, c.surge, c.unavailable)
		}
	}
}

func rs(name string, replicas, maxReplicas int32, age time.Duration) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1_000_000, 0).Add(-age)),
			Annotations: map[string]string{MaxReplicasAnnotation: itoa(maxReplicas)}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas)},
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func TestProportionalSizes(t *testing.T) {
	cases := []struct {
		name  string
		d     *appsv1.Deployment
		rss   []*appsv1.ReplicaSet
		toAdd int32
		want  []int32
	}{
		{
			// 10 -> 15 replicas mid-rollout (surge 3 -> 4): sized for 13, now 19.
			name:  "scale up spreads by size",
			d:     rolling(15, intstr.FromString("25%"), intstr.FromString("25%")),
			rss:   []*appsv1.ReplicaSet{rs("old", 8, 13, time.Hour), rs("new", 5, 13, 0)},
			toAdd: 19 - 13,
			want:  []int32{12, 7},
		},
		{
			name:  "scale down takes from both",
			d:     rolling(5, intstr.FromInt32(1), intstr.FromInt32(0)),
			rss:   []*appsv1.ReplicaSet{rs("old", 6, 11, time.Hour), rs("new", 5, 11, 0)},
			toAdd: 6 - 11,
			want:  []int32{3, 3},
		},
		{
			name:  "to zero",
			d:     rolling(0, intstr.FromInt32(1), intstr.FromInt32(0)),
			rss:   []*appsv1.ReplicaSet{rs("old", 3, 5, time.Hour), rs("new", 2, 5, 0)},
			toAdd: -5,
			want:  []int32{0, 0},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ProportionalSizes(c.d, c.rss, c.toAdd)
			var sum, wantSum int32
			for i := range got {
				sum += got[i]
				wantSum += *c.rss[i].Spec.Replicas
				if got[i] != c.want[i] {
					t.Errorf("sizes %v, want %v", got, c.want)
					break
				}
			}
			if sum != wantSum+c.toAdd {
				t.Errorf("sizes sum to %d, want %d", sum, wantSum+c.toAdd)
			}
		})
	}
}

func TestNewRSNewReplicas(t *testing.T) {
	d := rolling(4, intstr.FromInt32(1), intstr.FromInt32(1))
	cases := []struct {
		name     string
		old, new int32
		want     int32
	}{
		{"room for one surge pod", 4, 0, 1},
		{"at max total", 4, 1, 1},
		{"old scaled down", 2, 1, 3},
		{"never beyond replicas", 0, 3, 4},
	}
	for _, c := range cases {
		newRS := rs("new", c.new, 5, 0)
		all := []*appsv1.ReplicaSet{rs("old", c.old, 5, time.Hour), newRS}
		if got := NewRSNewReplicas(d, all, newRS); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestComputeHashAndEqualIgnoreHash(t *testing.T) {
	a := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i:1"}}}}
	b := a.DeepCopy()
	b.Spec.Containers[0].Image = "i:2"
	if ComputeHash(a, nil) != ComputeHash(a.DeepCopy(), nil) {
		t.Error("hash not deterministic")
	}
	if ComputeHash(a, nil) == ComputeHash(b, nil) || ComputeHash(a, nil) == ComputeHash(a, ptr.To[int32](1)) {
		t.Error("hash ignores template or collisionCount")
	}
	hashed := a.DeepCopy()
	hashed.Labels[PodTemplateHashLabel] = ComputeHash(a, nil)
	if !EqualIgnoreHash(a, hashed) || EqualIgnoreHash(a, b) {
		t.Error("EqualIgnoreHash")
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Annotations = map[string]string{"team": "a", LastAppliedAnnotation: "{}", RevisionAnnotation: "9"}
	r := &appsv1.ReplicaSet{}
	if !SetNewReplicaSetAnnotations(d, r, 1, false) {
		t.Fatal("no change reported")
	}
	want := map[string]string{"team": "a", RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"}
	if len(r.Annotations) != len(want) {
		t.Errorf("annotations %v, want %v", r.Annotations, want)
	}
	for k, v := range want {
		if r.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, r.Annotations[k], v)
		}
	}
	// Rolled back to: revision raised, old one in history.
	SetNewReplicaSetAnnotations(d, r, 3, true)
	if r.Annotations[RevisionAnnotation] != "3" || r.Annotations[RevisionHistoryAnnotation] != "1" {
		t.Errorf("after rollback %v", r.Annotations)
	}
	if SetNewReplicaSetAnnotations(d, r, 2, true) {
		t.Error("a lower revision changed the annotations")
	}
}

func TestDeploymentTimedOut(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	d := rolling(1, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](10)
	cases := []struct {
		reason string
		ago    time.Duration
		want   bool
	}{
		{ReasonReplicaSetUpdated, 5 * time.Second, false},
		{ReasonReplicaSetUpdated, 11 * time.Second, true},
		{ReasonNewReplicaSetAvailable, time.Hour, false},
		{ReasonProgressDeadlineExceeded, 0, true},
	}
	for _, c := range cases {
		st := appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, c.reason, "", now.Add(-c.ago))}}
		if got := DeploymentTimedOut(d, &st, now); got != c.want {
			t.Errorf("%s %s ago: %v, want %v", c.reason, c.ago, got, c.want)
		}
	}
}
