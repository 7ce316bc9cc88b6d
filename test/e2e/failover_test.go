package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// podNames records the names of the pods of one ReplicaSet that were ever
// seen, so that a test can tell whether a controller created a pod twice.
type podNames struct {
	mu    sync.Mutex
	names map[string]bool
}

func (p *podNames) sample(ctx context.Context, client kubernetes.Interface, ns string) (live int, err error) {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=failover"})
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pod := range pods.Items {
		p.names[pod.Name] = true
		if pod.DeletionTimestamp == nil {
			live++
		}
	}
	return live, nil
}

func (p *podNames) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.names)
}

// TestControllersSurviveLeaderChangeAndAPIServerRestart runs two
// controller managers against one API server: the second stands by until the
// first is killed, then takes over, and neither duplicates work (each pod of
// the ReplicaSet is created once). The API server then restarts under the
// new leader, which carries on: scale-down and garbage collection work.
func TestControllersSurviveLeaderChangeAndAPIServerRestart(t *testing.T) {
	dir, port := t.TempDir(), freePort(t)
	api := startAPIServer(t, dir, port)
	client := api.client(t)
	ctx := context.Background()
	cmArgs := []string{"controller-manager", "--kubeconfig", api.kubeconfig(), "--controllers", "replicaset,garbagecollector,serviceaccount"}
	first := start(t, cmArgs...)
	var holder string
	pollE2E(t, 60*time.Second, "the first controller manager holds the lease", func(ctx context.Context) (bool, error) {
		lease, err := client.CoordinationV1().Leases("kube-system").Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		return holder != "", nil
	})
	second := start(t, cmArgs...)

	const ns = "default"
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "failover", Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](5),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "failover"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "failover"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/c:1"}}},
			},
		},
	}
	if _, err := client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := &podNames{names: map[string]bool{}}
	waitPods := func(what string, want int) {
		t.Helper()
		pollE2E(t, 90*time.Second, what, func(ctx context.Context) (bool, error) {
			live, err := seen.sample(ctx, client, ns)
			if err != nil {
				return false, err
			}
			if live != want {
				return false, fmt.Errorf("%d live pods, want %d", live, want)
			}
			return true, nil
		})
	}
	waitPods("the first leader creates 5 pods", 5)

	first.kill()
	pollE2E(t, 90*time.Second, "the second controller manager takes the lease", func(ctx context.Context) (bool, error) {
		lease, err := client.CoordinationV1().Leases("kube-system").Get(ctx, "skiff-controller-manager", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		now := ptr.Deref(lease.Spec.HolderIdentity, "")
		if now == "" || now == holder {
			return false, fmt.Errorf("holder %q", now)
		}
		return true, nil
	})
	if _, err := client.AppsV1().ReplicaSets(ns).Patch(ctx, "failover", "application/merge-patch+json", []byte(`{"spec":{"replicas":8}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods("the new leader scales to 8", 8)
	if n := seen.count(); n != 8 {
		t.Errorf("%d distinct pods were created for 8 replicas across the leader change; some were created twice", n)
	}

	t0 := time.Now()
	api.stop(t)
	t.Logf("API server stopped in %s", time.Since(t0))
	api = startAPIServer(t, dir, port)
	t.Logf("API server down for %s", time.Since(t0))
	client = api.client(t)
	if second.exited() {
		t.Fatalf("the controller manager exited (%v) when the API server restarted:\n%s", second.err, tail(second.out.String(), 30))
	}
	if _, err := client.AppsV1().ReplicaSets(ns).Patch(ctx, "failover", "application/merge-patch+json", []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods("after the API server restart the leader scales down to 3", 3)
	if err := client.AppsV1().ReplicaSets(ns).Delete(ctx, "failover", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods("the garbage collector deletes the ReplicaSet's pods", 0)
	if n := seen.count(); n != 8 {
		t.Errorf("%d distinct pods were created in all; want the 8 of the largest scale", n)
	}
}
