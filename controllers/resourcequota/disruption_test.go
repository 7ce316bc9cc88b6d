package resourcequota_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
)

// ownedPods creates a ReplicaSet controlled by d and n pods it controls.
func ownedPods(t *testing.T, ctx context.Context, ns string, d *appsv1.Deployment, n int, labels map[string]string) []string {
	t.Helper()
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-rs", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true),
		}}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(int32(n)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: d.Spec.Template,
		},
	}
	created, err := env.Client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create replicaset: %v", err)
	}
	var names []string
	for i := 0; i < n; i++ {
		p := pod(fmt.Sprintf("%s-%d", d.Name, i), labels, nil, nil)
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: created.Name, UID: created.UID, Controller: ptr.To(true)}}
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod: %v", err)
		}
		names = append(names, p.Name)
	}
	return names
}

type pdbWant struct {
	expected, desired, healthy, allowed int32
	reason                              string
}

func waitPDB(t *testing.T, ns, name string, want pdbWant, what string) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pdb, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := pdb.Status
		got := pdbWant{s.ExpectedPods, s.DesiredHealthy, s.CurrentHealthy, s.DisruptionsAllowed, ""}
		if c := apimeta.FindStatusCondition(s.Conditions, policyv1.DisruptionAllowedCondition); c != nil {
			got.reason = c.Reason
		}
		if got != want || s.ObservedGeneration != pdb.Generation {
			return false, fmt.Errorf("status %+v (observedGeneration %d of %d), want %+v", got, s.ObservedGeneration, pdb.Generation, want)
		}
		return true, nil
	}, "%s", what)
}

func TestPDBStatusThroughDeploymentScale(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	labels := map[string]string{"app": "web"}
	d := deployment(t, ctx, ns, "web", 4, labels)
	pods := ownedPods(t, ctx, ns, d, 4, labels)
	for _, p := range pods[:3] {
		setPodPhase(t, ctx, ns, p, corev1.PodRunning, true)
	}
	mk := func(name string, spec policyv1.PodDisruptionBudgetSpec) {
		spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
		if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pdb %s: %v", name, err)
		}
	}
	one := intstr.FromInt32(1)
	half := intstr.FromString("50%")
	two := intstr.FromInt32(2)
	mk("max-unavailable", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one})
	mk("min-percent", policyv1.PodDisruptionBudgetSpec{MinAvailable: &half})
	mk("min-int", policyv1.PodDisruptionBudgetSpec{MinAvailable: &two})

	waitPDB(t, ns, "max-unavailable", pdbWant{4, 3, 3, 0, policyv1.InsufficientPodsReason}, "maxUnavailable=1 with 3 of 4 ready")
	waitPDB(t, ns, "min-percent", pdbWant{4, 2, 3, 1, policyv1.SufficientPodsReason}, "minAvailable=50% with 3 of 4 ready")
	waitPDB(t, ns, "min-int", pdbWant{4, 2, 3, 1, policyv1.SufficientPodsReason}, "minAvailable=2 with 3 of 4 ready")

	setPodPhase(t, ctx, ns, pods[3], corev1.PodRunning, true)
	waitPDB(t, ns, "max-unavailable", pdbWant{4, 3, 4, 1, policyv1.SufficientPodsReason}, "maxUnavailable=1 with 4 ready")

	// Scaling the Deployment moves the denominator of percentages.
	sc, err := env.Client.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = 8
	if _, err := env.Client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	waitPDB(t, ns, "min-percent", pdbWant{8, 4, 4, 0, policyv1.InsufficientPodsReason}, "minAvailable=50% of 8")
	waitPDB(t, ns, "max-unavailable", pdbWant{8, 7, 4, 0, policyv1.InsufficientPodsReason}, "maxUnavailable=1 of 8")

	// A pod being disrupted (as the eviction API records) is not healthy;
	// a stale entry (older than two minutes) is dropped.
	pdb, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "min-int", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Status.DisruptedPods = map[string]metav1.Time{
		pods[0]: metav1.Now(),
		pods[1]: metav1.NewTime(time.Now().Add(-3 * time.Minute)),
		"gone":  metav1.Now(),
	}
	if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("record disrupted pods: %v", err)
	}
	waitPDB(t, ns, "min-int", pdbWant{4, 2, 3, 1, policyv1.SufficientPodsReason}, "minAvailable=2 with one pod disrupted")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pdb, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "min-int", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, recent := pdb.Status.DisruptedPods[pods[0]]
		return check(recent && len(pdb.Status.DisruptedPods) == 1, "disruptedPods %v", pdb.Status.DisruptedPods)
	}, "only the recent existing disrupted pod is kept")
}

func TestPDBUnmanagedPodsWithPercentage(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	labels := map[string]string{"app": "bare"}
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("bare-%d", i)
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod(name, labels, nil, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		setPodPhase(t, ctx, ns, name, corev1.PodRunning, true)
	}
	half := intstr.FromString("50%")
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "bare"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &half, Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}
	if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Unmanaged pods count for nothing in the denominator: no pods are
	// expected, so nothing may be disrupted.
	waitPDB(t, ns, "bare", pdbWant{0, 0, 2, 0, policyv1.InsufficientPodsReason}, "percentage over unmanaged pods")
}

func TestStaleDisruptionTargetReset(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod("victim", nil, nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod("fresh", nil, nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	set := func(name string, at time.Time) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI",
			LastTransitionTime: metav1.NewTime(at),
		})
		if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("set DisruptionTarget: %v", err)
		}
	}
	set("victim", time.Now().Add(-3*time.Minute))
	set("fresh", time.Now())
	cond := func(ctx context.Context, name string) (corev1.ConditionStatus, error) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.DisruptionTarget {
				return c.Status, nil
			}
		}
		return "", nil
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := cond(ctx, "victim")
		return s == corev1.ConditionFalse, err
	}, "stale DisruptionTarget reset to False")
	if s, err := cond(ctx, "fresh"); err != nil || s != corev1.ConditionTrue {
		t.Fatalf("fresh DisruptionTarget = %q (%v), want it left True", s, err)
	}
}
