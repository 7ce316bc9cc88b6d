package replicaset_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/replicaset"
)

var env *controllertest.Env

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{Controllers: []controllers.Descriptor{
		replicaset.Descriptor, replicaset.ReplicationControllerDescriptor,
	}})
}

// workload drives a ReplicaSet or a ReplicationController through one API.
type workload struct {
	kind   string
	create func(ctx context.Context, ns, name string, replicas int32, minReady int32, podLabels map[string]string) (types.UID, error)
	scale  func(ctx context.Context, ns, name string, replicas int32) error
	// status returns replicas, fullyLabeled, ready, available, observedGeneration, generation.
	status func(ctx context.Context, ns, name string) ([6]int64, error)
}

var selectorLabels = map[string]string{"app": "web"}

func template(podLabels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

var workloads = []workload{
	{
		kind: "ReplicaSet",
		create: func(ctx context.Context, ns, name string, replicas, minReady int32, podLabels map[string]string) (types.UID, error) {
			rs := &appsv1.ReplicaSet{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: appsv1.ReplicaSetSpec{
					Replicas:        ptr.To(replicas),
					MinReadySeconds: minReady,
					Selector:        &metav1.LabelSelector{MatchLabels: selectorLabels},
					Template:        template(podLabels),
				},
			}
			out, err := env.Client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{})
			if err != nil {
				return "", err
			}
			return out.UID, nil
		},
		scale: func(ctx context.Context, ns, name string, replicas int32) error {
			patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
			_, err := env.Client.AppsV1().ReplicaSets(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			return err
		},
		status: func(ctx context.Context, ns, name string) ([6]int64, error) {
			rs, err := env.Client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return [6]int64{}, err
			}
			s := rs.Status
			return [6]int64{int64(s.Replicas), int64(s.FullyLabeledReplicas), int64(s.ReadyReplicas), int64(s.AvailableReplicas), s.ObservedGeneration, rs.Generation}, nil
		},
	},
	{
		kind: "ReplicationController",
		create: func(ctx context.Context, ns, name string, replicas, minReady int32, podLabels map[string]string) (types.UID, error) {
			tmpl := template(podLabels)
			rc := &corev1.ReplicationController{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: corev1.ReplicationControllerSpec{
					Replicas:        ptr.To(replicas),
					MinReadySeconds: minReady,
					Selector:        selectorLabels,
					Template:        &tmpl,
				},
			}
			out, err := env.Client.CoreV1().ReplicationControllers(ns).Create(ctx, rc, metav1.CreateOptions{})
			if err != nil {
				return "", err
			}
			return out.UID, nil
		},
		scale: func(ctx context.Context, ns, name string, replicas int32) error {
			patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
			_, err := env.Client.CoreV1().ReplicationControllers(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			return err
		},
		status: func(ctx context.Context, ns, name string) ([6]int64, error) {
			rc, err := env.Client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return [6]int64{}, err
			}
			s := rc.Status
			return [6]int64{int64(s.Replicas), int64(s.FullyLabeledReplicas), int64(s.ReadyReplicas), int64(s.AvailableReplicas), s.ObservedGeneration, rc.Generation}, nil
		},
	},
}

// ownedPods lists the active pods controlled by uid.
func ownedPods(ctx context.Context, ns string, uid types.UID) ([]corev1.Pod, error) {
	list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func waitPods(t *testing.T, ns string, uid types.UID, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		pods, err = ownedPods(ctx, ns, uid)
		if err != nil {
			return false, err
		}
		if len(pods) != n {
			return false, fmt.Errorf("%d pods, want %d", len(pods), n)
		}
		return true, nil
	}, "%d pods owned by %s", n, uid)
	return pods
}

func waitStatus(t *testing.T, w workload, ns, name string, want [4]int64) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := w.status(ctx, ns, name)
		if err != nil {
			return false, err
		}
		if [4]int64{got[0], got[1], got[2], got[3]} != want || got[4] != got[5] {
			return false, fmt.Errorf("status (replicas, fullyLabeled, ready, available, observedGeneration, generation) = %v, want %v", got, want)
		}
		return true, nil
	}, "%s status", w.kind)
}

// setPodStatus plays kubelet: phase and Ready condition, ready since since.
func setPodStatus(ctx context.Context, ns, name string, phase corev1.PodPhase, ready bool, since time.Time) error {
	pod, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod.Status.Phase = phase
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(since)}}
	_, err = env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

func bind(ctx context.Context, ns, name, node string) error {
	return env.Client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
}

// holds is a condition's result: ok, or why not.
func holds(ok bool, format string, args ...any) (bool, error) {
	if ok {
		return true, nil
	}
	return false, fmt.Errorf(format, args...)
}

// namespace is a fresh namespace with the "default" ServiceAccount pods
// need (no serviceaccount controller runs here).
func namespace(t *testing.T) string {
	t.Helper()
	ns := env.Namespace(t)
	return ns
}

func TestReplicasLifecycle(t *testing.T) {
	for _, w := range workloads {
		t.Run(w.kind, func(t *testing.T) {
			ctx := controllertest.Context(t)
			ns := namespace(t)
			podLabels := map[string]string{"app": "web", "tier": "front"}
			uid, err := w.create(ctx, ns, "web", 3, 0, podLabels)
			if err != nil {
				t.Fatal(err)
			}
			pods := waitPods(t, ns, uid, 3)
			for _, p := range pods {
				if !strings.HasPrefix(p.Name, "web-") || len(p.Name) != len("web-")+5 {
					t.Errorf("pod name %q is not web-<5 random>", p.Name)
				}
				ref := metav1.GetControllerOf(&p)
				if ref.Kind != w.kind || ref.Name != "web" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
					t.Errorf("pod %s controllerRef = %+v", p.Name, ref)
				}
				if !labels.Equals(p.Labels, podLabels) {
					t.Errorf("pod %s labels = %v, want %v", p.Name, p.Labels, podLabels)
				}
			}
			waitStatus(t, w, ns, "web", [4]int64{3, 3, 0, 0})

			// Readiness shows in status.
			for _, p := range pods[:2] {
				if err := setPodStatus(ctx, ns, p.Name, corev1.PodRunning, true, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			waitStatus(t, w, ns, "web", [4]int64{3, 3, 2, 2})

			// A deleted pod is replaced.
			if err := env.Client.CoreV1().Pods(ns).Delete(ctx, pods[2].Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
				now, err := ownedPods(ctx, ns, uid)
				if err != nil {
					return false, err
				}
				for _, p := range now {
					if p.Name == pods[2].Name {
						return false, fmt.Errorf("deleted pod %s still there", p.Name)
					}
				}
				return holds(len(now) == 3, "%d pods", len(now))
			}, "deleted pod replaced")

			// Scale up and down.
			if err := w.scale(ctx, ns, "web", 5); err != nil {
				t.Fatal(err)
			}
			waitPods(t, ns, uid, 5)
			waitStatus(t, w, ns, "web", [4]int64{5, 5, 2, 2})
			if err := w.scale(ctx, ns, "web", 2); err != nil {
				t.Fatal(err)
			}
			left := waitPods(t, ns, uid, 2)
			// Not-ready pods go first: the two ready ones stay.
			for _, p := range left {
				if p.Name != pods[0].Name && p.Name != pods[1].Name {
					t.Errorf("scale down kept not-ready pod %s over a ready one", p.Name)
				}
			}
			waitStatus(t, w, ns, "web", [4]int64{2, 2, 2, 2})
			if err := w.scale(ctx, ns, "web", 0); err != nil {
				t.Fatal(err)
			}
			waitPods(t, ns, uid, 0)
			waitStatus(t, w, ns, "web", [4]int64{0, 0, 0, 0})
		})
	}
}

func TestAdoptAndRelease(t *testing.T) {
	for _, w := range workloads {
		t.Run(w.kind, func(t *testing.T) {
			ctx := controllertest.Context(t)
			ns := namespace(t)
			uid, err := w.create(ctx, ns, "web", 2, 0, map[string]string{"app": "web", "v": "1"})
			if err != nil {
				t.Fatal(err)
			}
			waitPods(t, ns, uid, 2)

			// An orphan the selector matches is adopted. The controller then
			// has one pod too many and may delete any of the three, so the
			// adoption is seen on a watch of the orphan, not in the end state.
			watcher, err := env.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=orphan"})
			if err != nil {
				t.Fatal(err)
			}
			defer watcher.Stop()
			orphan := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: ns, Labels: map[string]string{"app": "web"}},
				Spec:       template(nil).Spec,
			}
			if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			adopted := false
			deadline := time.After(controllertest.DefaultTimeout)
			for !adopted {
				select {
				case ev, ok := <-watcher.ResultChan():
					if !ok {
						t.Fatal("watch of the orphan ended before it was adopted")
					}
					if p, isPod := ev.Object.(*corev1.Pod); isPod {
						ref := metav1.GetControllerOf(p)
						adopted = ref != nil && ref.UID == uid
					}
				case <-deadline:
					t.Fatalf("orphan not adopted within %s", controllertest.DefaultTimeout)
				}
			}
			pods := waitPods(t, ns, uid, 2)
			// fullyLabeled counts only pods with every template label.
			full := int64(0)
			for _, p := range pods {
				if p.Labels["v"] == "1" {
					full++
				}
			}
			waitStatus(t, w, ns, "web", [4]int64{2, full, 0, 0})

			// An owned pod that stops matching is released and replaced.
			released := pods[0].Name
			patch := `{"metadata":{"labels":{"app":"other"}}}`
			if _, err := env.Client.CoreV1().Pods(ns).Patch(ctx, released, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
				p, err := env.Client.CoreV1().Pods(ns).Get(ctx, released, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				return holds(metav1.GetControllerOf(p) == nil, "ownerReferences %v", p.OwnerReferences)
			}, "pod released")
			for _, p := range waitPods(t, ns, uid, 2) {
				if p.Name == released {
					t.Errorf("released pod %s still counted", released)
				}
			}
		})
	}
}

func names(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// TestDeletionRanking scales down through pods of every rank: unscheduled,
// then pending, then running not ready, then ready.
func TestDeletionRanking(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	w := workloads[0]
	uid, err := w.create(ctx, ns, "web", 4, 0, selectorLabels)
	if err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, ns, uid, 4)
	unscheduled, pending, notReady, ready := pods[0].Name, pods[1].Name, pods[2].Name, pods[3].Name
	for _, n := range []string{pending, notReady, ready} {
		if err := bind(ctx, ns, n, "node-1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := setPodStatus(ctx, ns, notReady, corev1.PodRunning, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := setPodStatus(ctx, ns, ready, corev1.PodRunning, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, w, ns, "web", [4]int64{4, 4, 1, 1})
	for i, gone := range []string{unscheduled, pending, notReady} {
		if err := w.scale(ctx, ns, "web", int32(3-i)); err != nil {
			t.Fatal(err)
		}
		left := waitPods(t, ns, uid, 3-i)
		for _, p := range left {
			if p.Name == gone {
				t.Fatalf("scaling to %d kept %s; left %v", 3-i, gone, names(left))
			}
		}
	}
	// The bound pods deleted are terminating (no kubelet finishes them).
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		rs, err := env.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got := ptr.Deref(rs.Status.TerminatingReplicas, -1)
		return holds(got == 2 && rs.Status.Replicas == 1, "terminatingReplicas %d, replicas %d", got, rs.Status.Replicas)
	}, "terminatingReplicas counts bound pods being deleted")
}

func TestMinReadySeconds(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	w := workloads[0]
	uid, err := w.create(ctx, ns, "web", 1, 2, selectorLabels)
	if err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, ns, uid, 1)
	// Conditions keep whole seconds: the pod is ready from readyAt on.
	readyAt := time.Now().Truncate(time.Second)
	if err := setPodStatus(ctx, ns, pods[0].Name, corev1.PodRunning, true, readyAt); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, w, ns, "web", [4]int64{1, 1, 1, 0})
	waitStatus(t, w, ns, "web", [4]int64{1, 1, 1, 1})
	if since := time.Since(readyAt); since < 2*time.Second {
		t.Errorf("available after %s, before minReadySeconds", since)
	}
}

func TestReplicaFailureOnQuota(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := namespace(t)
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: ns},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}},
	}
	q, err := env.Client.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}
	if _, err := env.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	uid, err := workloads[0].create(ctx, ns, "web", 3, 0, selectorLabels)
	if err != nil {
		t.Fatal(err)
	}
	var cond *appsv1.ReplicaSetCondition
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		rs, err := env.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for i := range rs.Status.Conditions {
			if rs.Status.Conditions[i].Type == appsv1.ReplicaSetReplicaFailure {
				cond = &rs.Status.Conditions[i]
				return true, nil
			}
		}
		return false, fmt.Errorf("conditions %v", rs.Status.Conditions)
	}, "ReplicaFailure condition")
	if cond.Status != corev1.ConditionTrue || cond.Reason != "FailedCreate" || !strings.Contains(cond.Message, "forbidden") {
		t.Errorf("condition = %+v", cond)
	}
	pods, err := ownedPods(ctx, ns, uid)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) > 1 {
		t.Errorf("%d pods despite a quota of 1", len(pods))
	}
	// A FailedCreate event was recorded.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "FailedCreate" && e.InvolvedObject.UID == uid {
				return true, nil
			}
		}
		return false, nil
	}, "FailedCreate event")
	// Lifting the quota clears the condition.
	if err := env.Client.CoreV1().ResourceQuotas(ns).Delete(ctx, "pods", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	waitPods(t, ns, uid, 3)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		rs := &appsv1.ReplicaSet{}
		if err := env.Ctrl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, rs); err != nil {
			return false, err
		}
		return holds(len(rs.Status.Conditions) == 0, "conditions %v", rs.Status.Conditions)
	}, "ReplicaFailure cleared")
}
