package resourcequota_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/controllers/controllertest"
)

// waitUsed waits until quota ns/name reports want (name -> quantity) in
// status.used, with status.hard equal to spec.hard.
func waitUsed(t *testing.T, ns, name string, want map[corev1.ResourceName]string, what string) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		q, err := env.Client.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(q.Status.Hard) != len(q.Spec.Hard) {
			return false, fmt.Errorf("status.hard %v, spec.hard %v", q.Status.Hard, q.Spec.Hard)
		}
		for r, v := range want {
			got := q.Status.Used[r]
			if got.Cmp(mustQ(v)) != 0 {
				return false, fmt.Errorf("used %s = %s, want %s (used %s)", r, quantityString(q.Status.Used, r), v, fmtUsed(q.Status.Used))
			}
		}
		return true, nil
	}, "%s", what)
}

func TestQuotaUsageUpAndDown(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	c := env.Client.CoreV1()
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec: corev1.ResourceQuotaSpec{Hard: rl(
			"pods", "100", "count/pods", "100", "configmaps", "100", "count/configmaps", "100",
			"services", "100", "services.nodeports", "100", "services.loadbalancers", "100",
			"requests.cpu", "100", "limits.memory", "100Gi", "secrets", "100",
			"count/deployments.apps", "100", "persistentvolumeclaims", "100", "requests.storage", "1Ti",
			"gold.storageclass.storage.k8s.io/requests.storage", "1Ti",
		)},
	}
	if _, err := c.ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create quota: %v", err)
	}
	// The namespace's own objects (e.g. a kube-root-ca.crt, if a publisher
	// ran) are not ours: compare against the count before we start.
	base, err := c.ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms := len(base.Items)
	waitUsed(t, ns, "q", map[corev1.ResourceName]string{"pods": "0", "requests.cpu": "0", "configmaps": fmt.Sprint(cms), "services": "0"}, "initial usage")

	for i := 0; i < 3; i++ {
		p := pod(fmt.Sprintf("p%d", i), nil, rl("cpu", "200m"), rl("memory", "64Mi"))
		if _, err := c.Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod: %v", err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm%d", i)}}
		if _, err := c.ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create configmap: %v", err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "np"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 81}}},
	}
	if _, err := c.Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	deployment(t, ctx, ns, "d", 1, map[string]string{"app": "d"})
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "claim"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: strPtr("gold"),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: rl("storage", "5Gi")},
		},
	}
	if _, err := c.PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create claim: %v", err)
	}
	// A resync recounts everything, count/deployments.apps included.
	touch(t, ctx, ns, "q")
	waitUsed(t, ns, "q", map[corev1.ResourceName]string{
		"pods": "3", "count/pods": "3", "requests.cpu": "600m", "limits.memory": "192Mi",
		"configmaps": fmt.Sprint(cms + 3), "count/configmaps": fmt.Sprint(cms + 3),
		"services": "1", "services.nodeports": "2", "services.loadbalancers": "0",
		"count/deployments.apps": "1", "persistentvolumeclaims": "1", "requests.storage": "5Gi",
		"gold.storageclass.storage.k8s.io/requests.storage": "5Gi",
	}, "usage after creates")

	// Deletes give usage back (admission never does).
	if err := c.Pods(ns).Delete(ctx, "p0", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod: %v", err)
	}
	if err := c.ConfigMaps(ns).Delete(ctx, "cm0", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete configmap: %v", err)
	}
	if err := c.Services(ns).Delete(ctx, "np", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service: %v", err)
	}
	waitUsed(t, ns, "q", map[corev1.ResourceName]string{
		"pods": "2", "requests.cpu": "400m", "limits.memory": "128Mi",
		"configmaps": fmt.Sprint(cms + 2), "services": "0", "services.nodeports": "0",
	}, "usage after deletes")

	// A finished pod keeps its object count but frees its compute.
	setPodPhase(t, ctx, ns, "p1", corev1.PodSucceeded, false)
	waitUsed(t, ns, "q", map[corev1.ResourceName]string{"count/pods": "2", "requests.cpu": "200m", "limits.memory": "64Mi"}, "usage after a pod finished")

	// Raising hard is reflected in status.hard.
	cur, err := c.ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Hard["secrets"] = mustQ("7")
	if _, err := c.ResourceQuotas(ns).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update quota: %v", err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		q, err := c.ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		h := q.Status.Hard["secrets"]
		return h.Cmp(mustQ("7")) == 0, nil
	}, "status.hard follows spec.hard")
}

func TestQuotaScopes(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	c := env.Client.CoreV1()
	mk := func(name string, scopes ...corev1.ResourceQuotaScope) {
		q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: rl("pods", "100"), Scopes: scopes}}
		if _, err := c.ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create quota %s: %v", name, err)
		}
	}
	mk("besteffort", corev1.ResourceQuotaScopeBestEffort)
	mk("notbesteffort", corev1.ResourceQuotaScopeNotBestEffort)
	mk("terminating", corev1.ResourceQuotaScopeTerminating)
	mk("notterminating", corev1.ResourceQuotaScopeNotTerminating)
	pc := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "priority"},
		Spec: corev1.ResourceQuotaSpec{Hard: rl("pods", "100"), ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
			ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"system-cluster-critical"},
		}}}},
	}
	if _, err := c.ResourceQuotas(ns).Create(ctx, pc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create priority quota: %v", err)
	}
	create := func(p *corev1.Pod) {
		if _, err := c.Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
	create(pod("be1", nil, nil, nil))
	create(pod("be2", nil, nil, nil))
	create(pod("burst", nil, rl("cpu", "100m"), nil))
	term := pod("term", nil, nil, nil)
	term.Spec.ActiveDeadlineSeconds = ptrInt64(60)
	create(term)
	crit := pod("crit", nil, nil, nil)
	crit.Spec.PriorityClassName = "system-cluster-critical"
	create(crit)

	waitUsed(t, ns, "besteffort", map[corev1.ResourceName]string{"pods": "4"}, "BestEffort scope")
	waitUsed(t, ns, "notbesteffort", map[corev1.ResourceName]string{"pods": "1"}, "NotBestEffort scope")
	waitUsed(t, ns, "terminating", map[corev1.ResourceName]string{"pods": "1"}, "Terminating scope")
	waitUsed(t, ns, "notterminating", map[corev1.ResourceName]string{"pods": "4"}, "NotTerminating scope")
	waitUsed(t, ns, "priority", map[corev1.ResourceName]string{"pods": "1"}, "PriorityClass scope")

	if err := c.Pods(ns).Delete(ctx, "be1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Pods(ns).Delete(ctx, "crit", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, ns, "besteffort", map[corev1.ResourceName]string{"pods": "2"}, "BestEffort after deletes")
	waitUsed(t, ns, "priority", map[corev1.ResourceName]string{"pods": "0"}, "PriorityClass after delete")
	waitUsed(t, ns, "notbesteffort", map[corev1.ResourceName]string{"pods": "1"}, "NotBestEffort unchanged")
}

// touch bumps a quota's spec (configmaps hard 100 -> 101) to force a full
// recount now rather than at the five-minute resync: count/<resource>.<group>
// of resources without a watch is only recounted then.
func touch(t *testing.T, ctx context.Context, ns, name string) {
	t.Helper()
	q, err := env.Client.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Spec.Hard["configmaps"] = mustQ("101")
	if _, err := env.Client.CoreV1().ResourceQuotas(ns).Update(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update quota: %v", err)
	}
}
