package nodelifecycle_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/nodelifecycle"
)

// TestNodeLoss: a node whose kubelet stops renewing its Lease goes Unknown,
// is tainted unreachable, its pods turn not ready, those tolerating the
// taint for a while are evicted after it and those tolerating it forever
// stay; a node that keeps heartbeating in the same zone is left alone; when
// the kubelet comes back the taints go.
func TestNodeLoss(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	zone := "zone-" + ns
	healthy := createNode(t, "healthy-"+ns, zone)
	heartbeat(t, healthy.Name)
	sick := createNode(t, "sick-"+ns, zone)

	// Admission gives pods without their own tolerations 300s for
	// not-ready/unreachable; these name theirs.
	unreachable := func(seconds *int64) corev1.Toleration {
		return corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
	}
	createPod(t, ns, "now", sick.Name, unreachable(ptr.To[int64](0)))
	createPod(t, ns, "later", sick.Name, unreachable(ptr.To[int64](3)))
	createPod(t, ns, "forever", sick.Name, unreachable(nil))
	createPod(t, ns, "defaulted", sick.Name)
	createPod(t, ns, "elsewhere", healthy.Name)

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, sick.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionUnknown && c.Reason == nodelifecycle.ReasonNodeStatusUnknown &&
					c.Message == nodelifecycle.MessageNodeStatusUnknown, nil
			}
		}
		return false, nil
	}, "silent node's Ready condition goes Unknown")

	var taintAdded time.Time
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, sick.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ne := nodeTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
		ok := ne != nil && ne.TimeAdded != nil &&
			nodeTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) != nil &&
			nodeTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule) == nil
		if ok {
			taintAdded = ne.TimeAdded.Time
		}
		return ok, nil
	}, "silent node tainted unreachable (NoSchedule and NoExecute)")

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		return deleted(ctx, ns, "now")
	}, "pod tolerating 0s evicted")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		return deleted(ctx, ns, "later")
	}, "pod tolerating 3s evicted")

	later, ok, err := getPod(ctx, ns, "later")
	if err != nil || !ok {
		t.Fatalf("get evicted pod: ok=%v err=%v (a graceful delete keeps bound pods)", ok, err)
	}
	cond := podCondition(later, corev1.DisruptionTarget)
	if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != nodelifecycle.ReasonDeletionByTaintManager {
		t.Fatalf("evicted pod's DisruptionTarget condition = %+v", cond)
	}
	// Both times are stored to the second; the taint was added within
	// taintAdded's second, so the eviction is at least 3s later.
	if earliest := taintAdded.Add(3 * time.Second); cond.LastTransitionTime.Time.Before(earliest) {
		t.Errorf("pod tolerating 3s evicted at %s, taint added at %s", cond.LastTransitionTime, taintAdded)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		return hasEvent(ctx, ns, "later", nodelifecycle.EventTaintManagerEviction)
	}, "TaintManagerEviction event")

	for _, name := range []string{"forever", "defaulted"} {
		name := name
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			p, ok, err := getPod(ctx, ns, name)
			if err != nil || !ok {
				return false, err
			}
			c := podCondition(p, corev1.PodReady)
			return c != nil && c.Status == corev1.ConditionFalse, nil
		}, "pod %s on the lost node marked not ready", name)
		if gone, err := deleted(ctx, ns, name); err != nil || gone {
			t.Errorf("pod %s deleted=%v err=%v, want it kept", name, gone, err)
		}
	}
	if gone, err := deleted(ctx, ns, "elsewhere"); err != nil || gone {
		t.Errorf("pod on the healthy node deleted=%v err=%v", gone, err)
	}
	h, err := env.Client.CoreV1().Nodes().Get(ctx, healthy.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, taint := range h.Spec.Taints {
		if taint.Key == corev1.TaintNodeUnreachable || taint.Key == corev1.TaintNodeNotReady {
			t.Errorf("healthy node tainted %v", taint)
		}
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		return hasEvent(ctx, "default", sick.Name, nodelifecycle.EventNodeNotReady)
	}, "NodeNotReady event on the node")

	// The kubelet comes back.
	heartbeat(t, sick.Name)
	postReady(t, sick)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, sick.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == corev1.TaintNodeUnreachable || taint.Key == corev1.TaintNodeNotReady {
				return false, nil
			}
		}
		return true, nil
	}, "recovered node's taints removed")
}

// TestNotReadyTaint: a kubelet reporting Ready=False gets not-ready taints.
func TestNotReadyTaint(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	zone := "zone-" + ns
	other := createNode(t, "other-"+ns, zone)
	heartbeat(t, other.Name)
	n := createNode(t, "notready-"+ns, zone)
	heartbeat(t, n.Name)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		// The admission plugin's initial not-ready taint goes once Ready.
		return nodeTaint(got, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule) == nil, nil
	}, "ready node's not-ready taint removed")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		now := metav1.Now()
		got.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady", LastHeartbeatTime: now, LastTransitionTime: now}}
		_, err = env.Client.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{})
		return err == nil, err
	}, "post Ready=False")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return nodeTaint(got, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule) != nil &&
			nodeTaint(got, corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) != nil &&
			nodeTaint(got, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) == nil, nil
	}, "not-ready node tainted not-ready")
	_ = ctx
}

// TestCustomNoExecuteTaint: pods not tolerating a NoExecute taint are
// deleted at once, tolerating ones after their tolerationSeconds, others
// never.
func TestCustomNoExecuteTaint(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	n := createNode(t, "custom-"+ns, "zone-"+ns)
	heartbeat(t, n.Name)
	const key = "example.com/maintenance"
	createPod(t, ns, "intolerant", n.Name)
	createPod(t, ns, "brief", n.Name, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](2)})
	createPod(t, ns, "patient", n.Name, corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: "soon", TolerationSeconds: nil})
	createPod(t, ns, "mismatch", n.Name, corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: "other"})

	start := time.Now()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := env.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		now := metav1.Now()
		got.Spec.Taints = append(got.Spec.Taints, corev1.Taint{Key: key, Value: "soon", Effect: corev1.TaintEffectNoExecute, TimeAdded: &now})
		_, err = env.Client.CoreV1().Nodes().Update(ctx, got, metav1.UpdateOptions{})
		return err == nil, err
	}, "taint node")
	for _, name := range []string{"intolerant", "mismatch"} {
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) { return deleted(ctx, ns, name) }, "pod %s evicted", name)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) { return deleted(ctx, ns, "brief") }, "pod tolerating 2s evicted")
	brief, ok, err := getPod(ctx, ns, "brief")
	if err != nil || !ok {
		t.Fatalf("get evicted pod: ok=%v err=%v", ok, err)
	}
	c := podCondition(brief, corev1.DisruptionTarget)
	if c == nil || c.Reason != nodelifecycle.ReasonDeletionByTaintManager {
		t.Fatalf("evicted pod's DisruptionTarget condition = %+v", c)
	}
	if earliest := start.Truncate(time.Second).Add(2 * time.Second); c.LastTransitionTime.Time.Before(earliest) {
		t.Errorf("pod tolerating 2s evicted at %s, taint added at %s", c.LastTransitionTime, start)
	}
	if gone, err := deleted(ctx, ns, "patient"); err != nil || gone {
		t.Errorf("pod tolerating forever deleted=%v err=%v", gone, err)
	}
}
