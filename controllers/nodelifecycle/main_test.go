package nodelifecycle_test

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/nodelifecycle"
	"github.com/skiff-dev/skiff/controllers/podgc"
)

// This package's API server runs the node lifecycle, taint eviction and pod
// GC controllers; the node IPAM test starts its own managers on it.
var env *controllertest.Env

const (
	gracePeriod     = 2 * time.Second
	terminatedLimit = 3
)

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{
		Controllers: []controllers.Descriptor{
			nodelifecycle.Descriptor,
			nodelifecycle.TaintEvictionDescriptor,
			podgc.NewDescriptor(podgc.Config{Period: 300 * time.Millisecond, Quarantine: time.Second}),
		},
		ControllerOptions: controllers.Options{
			NodeMonitorGracePeriod:   gracePeriod,
			TerminatedPodGCThreshold: terminatedLimit,
		},
	})
}

// createNode creates a node in zone with a Ready=True condition and a Lease
// renewed now, and deletes both when the test ends.
func createNode(t *testing.T, name, zone string) *corev1.Node {
	t.Helper()
	ctx := controllertest.Context(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: zone}}}
	created, err := env.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = env.Client.CoordinationV1().Leases(nodelifecycle.NodeLeaseNamespace).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	postReady(t, created)
	ensureLeaseNamespace(t)
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nodelifecycle.NodeLeaseNamespace},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(name),
			LeaseDurationSeconds: ptr.To[int32](40),
			RenewTime:            &metav1.MicroTime{Time: time.Now()},
		},
	}
	if _, err := env.Client.CoordinationV1().Leases(nodelifecycle.NodeLeaseNamespace).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create lease %s: %v", name, err)
	}
	return created
}

// postReady is the kubelet posting Ready=True with a fresh heartbeat.
func postReady(t *testing.T, node *corev1.Node) {
	t.Helper()
	ctx := controllertest.Context(t)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		now := metav1.Now()
		n.Status.Conditions = []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status",
			LastHeartbeatTime: now, LastTransitionTime: now,
		}}
		_, err = env.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err == nil, err
	}, "post Ready status of %s", node.Name)
	_ = ctx
}

func ensureLeaseNamespace(t *testing.T) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nodelifecycle.NodeLeaseNamespace}}
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", ns.Name, err)
	}
}

// heartbeat renews the node's Lease until the test ends, as a kubelet does.
func heartbeat(t *testing.T, name string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			leases := env.Client.CoordinationV1().Leases(nodelifecycle.NodeLeaseNamespace)
			l, err := leases.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// createPod creates a running, ready pod bound to node.
func createPod(t *testing.T, ns, name, node string, tolerations ...corev1.Toleration) *corev1.Pod {
	t.Helper()
	ctx := controllertest.Context(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := env.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create service account: %v", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:                     node,
			AutomountServiceAccountToken: ptr.To(false),
			Tolerations:                  tolerations,
			Containers:                   []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	var created *corev1.Pod
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		created, err = env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		return err == nil, err
	}, "create pod %s", name)
	if node == "" {
		return created
	}
	now := metav1.Now()
	created.Status.Phase = corev1.PodRunning
	created.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	updated, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("mark pod %s running: %v", name, err)
	}
	return updated
}

func getPod(ctx context.Context, ns, name string) (*corev1.Pod, bool, error) {
	p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	return p, err == nil, err
}

// deleted reports whether a pod is gone or terminating.
func deleted(ctx context.Context, ns, name string) (bool, error) {
	p, ok, err := getPod(ctx, ns, name)
	if err != nil {
		return false, err
	}
	return !ok || p.DeletionTimestamp != nil, nil
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func nodeTaint(n *corev1.Node, key string, effect corev1.TaintEffect) *corev1.Taint {
	for i := range n.Spec.Taints {
		if n.Spec.Taints[i].Key == key && n.Spec.Taints[i].Effect == effect {
			return &n.Spec.Taints[i]
		}
	}
	return nil
}

func hasEvent(ctx context.Context, ns, name, reason string) (bool, error) {
	evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name + ",reason=" + reason})
	if err != nil {
		return false, err
	}
	return len(evs.Items) > 0, nil
}
