package nodelifecycle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/podgc"
)

// TestPodGCOrphaned: a pod bound to a node that does not exist is marked
// Failed with DisruptionTarget=DeletionByPodGC, then force-deleted.
func TestPodGCOrphaned(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	w, err := env.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	createPod(t, ns, "orphan", "ghost-"+ns)

	var last *corev1.Pod
	deadline := time.After(controllertest.DefaultTimeout)
	for done := false; !done; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			if ev.Type == watch.Deleted {
				done = true
			}
			last = p
		case <-deadline:
			t.Fatalf("orphaned pod not deleted within %s", controllertest.DefaultTimeout)
		}
	}
	if last.Status.Phase != corev1.PodFailed {
		t.Errorf("orphan deleted in phase %q, want Failed", last.Status.Phase)
	}
	c := podCondition(last, corev1.DisruptionTarget)
	if c == nil || c.Status != corev1.ConditionTrue || c.Reason != podgc.ReasonDeletionByPodGC {
		t.Errorf("orphan's DisruptionTarget condition = %+v", c)
	}
}

// TestPodGCTerminated: beyond the threshold the oldest terminated pods go.
func TestPodGCTerminated(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	n := createNode(t, "gc-"+ns, "zone-"+ns)
	heartbeat(t, n.Name)
	quiesce(t)
	// Pods created in one second tie on creationTimestamp and are ordered
	// by name, which here is creation order too.
	const total = terminatedLimit + 2
	for i := 0; i < total; i++ {
		name := fmt.Sprintf("done-%d", i)
		p := createPod(t, ns, name, n.Name)
		p.Status.Phase = corev1.PodSucceeded
		if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("mark %s succeeded: %v", name, err)
		}
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		if len(pods.Items) != terminatedLimit {
			return false, fmt.Errorf("%d pods left", len(pods.Items))
		}
		for _, p := range pods.Items {
			if p.Name == "done-0" || p.Name == "done-1" {
				return false, fmt.Errorf("oldest pod %s kept", p.Name)
			}
		}
		return true, nil
	}, "terminated pods trimmed to the threshold, oldest first")
}

// quiesce waits until no other test's pods can count against the
// terminated threshold: none terminated, none orphaned.
func quiesce(t *testing.T) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pods, err := env.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				return false, fmt.Errorf("terminated pod %s/%s", p.Namespace, p.Name)
			}
			if p.Spec.NodeName == "" {
				continue
			}
			if _, err := env.Client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{}); err != nil {
				return false, fmt.Errorf("pod %s/%s on node %s: %v", p.Namespace, p.Name, p.Spec.NodeName, err)
			}
		}
		return true, nil
	}, "no terminated or orphaned pods left by other tests")
}
