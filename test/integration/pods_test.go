package integration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func newPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "busybox:1.36",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"cpu": mustQuantity("100m"), "memory": mustQuantity("64Mi")}},
		}}},
	}
}

// newPodNamespace makes a namespace with the default ServiceAccount the
// ServiceAccount admission plugin needs (no controller manager runs here).
func newPodNamespace(t *testing.T) string {
	t.Helper()
	ns := newNamespace(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := server.Client().CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create default service account: %v", err)
	}
	return ns
}

func TestPodLifecycle(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	pods := server.Client().CoreV1().Pods(ns)

	pod, err := pods.Create(ctx, newPod("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	// Defaults and the strategy: Pending, QoS from limits (requests default
	// to them), upstream's spec defaults.
	if pod.Status.Phase != corev1.PodPending || pod.Status.QOSClass != corev1.PodQOSGuaranteed {
		t.Errorf("status = %s/%s, want Pending/Guaranteed", pod.Status.Phase, pod.Status.QOSClass)
	}
	c := pod.Spec.Containers[0]
	if pod.Spec.RestartPolicy != corev1.RestartPolicyAlways || pod.Spec.DNSPolicy != corev1.DNSClusterFirst ||
		pod.Spec.SchedulerName != corev1.DefaultSchedulerName || *pod.Spec.TerminationGracePeriodSeconds != 30 ||
		c.ImagePullPolicy != corev1.PullIfNotPresent || c.TerminationMessagePath != corev1.TerminationMessagePathDefault ||
		!c.Resources.Requests.Cpu().Equal(mustQuantity("100m")) {
		t.Errorf("defaults not applied: %+v", pod.Spec)
	}

	// nodeName changes only through binding, once.
	update := pod.DeepCopy()
	update.Spec.NodeName = "node-a"
	if _, err := pods.Update(ctx, update, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("update of spec.nodeName: err = %v, want Invalid", err)
	}
	bind := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-a"}}
	if err := pods.Bind(ctx, bind, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := pods.Bind(ctx, bind, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("second bind: err = %v, want Conflict", err)
	}
	bound, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"})
	if err != nil || len(bound.Items) != 1 {
		t.Fatalf("list by spec.nodeName: %v %v", err, bound)
	}
	scheduled := false
	for _, cond := range bound.Items[0].Status.Conditions {
		scheduled = scheduled || (cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue)
	}
	if !scheduled {
		t.Errorf("bound pod has no PodScheduled=True condition: %+v", bound.Items[0].Status.Conditions)
	}

	// Status writes go through /status only.
	running := bound.Items[0].DeepCopy()
	running.Status.Phase = corev1.PodRunning
	running.Status.PodIP, running.Status.PodIPs = "10.244.0.5", []corev1.PodIP{{IP: "10.244.0.5"}}
	got, err := pods.Update(ctx, running, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.Status.Phase != corev1.PodPending {
		t.Errorf("main resource wrote status: phase %s", got.Status.Phase)
	}
	running.ResourceVersion = got.ResourceVersion
	if got, err = pods.UpdateStatus(ctx, running, metav1.UpdateOptions{}); err != nil || got.Status.Phase != corev1.PodRunning {
		t.Fatalf("update status: %v (phase %v)", err, got)
	}
	byIP, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "status.podIP=10.244.0.5,status.phase=Running"})
	if err != nil || len(byIP.Items) != 1 {
		t.Fatalf("list by status fields: %v %v", err, byIP)
	}

	// Ephemeral containers are added through their subresource only.
	got.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox:1.36", ImagePullPolicy: corev1.PullIfNotPresent,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}}}
	if _, err := pods.UpdateEphemeralContainers(ctx, "web", got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("add ephemeral container: %v", err)
	}

	// A scheduled pod is deleted gracefully: it stays, terminating, for its
	// grace period (the kubelet removes it).
	if err := pods.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	terminating, err := pods.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("graceful delete removed the pod at once: %v", err)
	}
	if terminating.DeletionTimestamp == nil || terminating.DeletionGracePeriodSeconds == nil || *terminating.DeletionGracePeriodSeconds != 30 {
		t.Errorf("terminating pod: deletionTimestamp %v grace %v, want set and 30", terminating.DeletionTimestamp, terminating.DeletionGracePeriodSeconds)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Target: corev1.ObjectReference{Name: "node-b"}}, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("bind of a terminating pod: err = %v, want Conflict", err)
	}
	if err := pods.Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatalf("force delete: %v", err)
	}
	if _, err := pods.Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after grace 0 delete: err = %v, want NotFound", err)
	}

	// An unscheduled pod goes at once.
	if _, err := pods.Create(ctx, newPod("pending"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "pending", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "pending", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unscheduled pod after delete: err = %v, want NotFound", err)
	}
}

func TestInvalidPodNamesItsFields(t *testing.T) {
	ns := newPodNamespace(t)
	pod := newPod("bad")
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "app"})
	pod.Spec.RestartPolicy = "Sometimes"
	_, err := server.Client().CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	status, ok := err.(apierrors.APIStatus)
	if !ok || !apierrors.IsInvalid(err) {
		t.Fatalf("err = %v, want Invalid", err)
	}
	want := map[string]bool{"spec.containers[1].name": false, "spec.containers[1].image": false, "spec.restartPolicy": false}
	for _, cause := range status.Status().Details.Causes {
		if _, ok := want[cause.Field]; ok {
			want[cause.Field] = true
		}
	}
	for f, seen := range want {
		if !seen {
			t.Errorf("no cause for %s in %+v", f, status.Status().Details.Causes)
		}
	}
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func TestEvictionHonoursDisruptionBudgets(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	client := server.Client()
	pods := client.CoreV1().Pods(ns)
	pod, err := pods.Create(ctx, newPod("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Target: corev1.ObjectReference{Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, _ = pods.Get(ctx, "web", metav1.GetOptions{})
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
	if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdbs := client.PolicyV1().PodDisruptionBudgets(ns)
	one := intstr.FromInt32(1)
	pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setAllowed := func(n int32) {
		t.Helper()
		pdb, err = pdbs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptionsAllowed: n, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
		if pdb, err = pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	evict := func() error {
		return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}})
	}
	// Before the disruption controller has looked at the budget.
	if err := evict(); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evict before the budget is processed: err = %v, want 429", err)
	}
	setAllowed(0)
	err = evict()
	if !apierrors.IsTooManyRequests(err) || !contains(err.Error(), "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Fatalf("evict with no disruptions allowed: err = %v, want 429", err)
	}
	setAllowed(1)
	if err := evict(); err != nil {
		t.Fatalf("evict with one disruption allowed: %v", err)
	}
	got, err := pods.Get(ctx, "web", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil {
		t.Fatalf("evicted pod: %v %v, want terminating", err, got)
	}
	pdb, _ = pdbs.Get(ctx, "web", metav1.GetOptions{})
	if _, recorded := pdb.Status.DisruptedPods["web"]; !recorded || pdb.Status.DisruptionsAllowed != 0 {
		t.Errorf("budget after eviction: allowed %d disrupted %v, want 0 and web", pdb.Status.DisruptionsAllowed, pdb.Status.DisruptedPods)
	}
}
