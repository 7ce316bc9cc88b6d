package deployment_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/deployment"
	"github.com/skiff-dev/skiff/controllers/replicaset"
)

var env *controllertest.Env

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{Controllers: []controllers.Descriptor{
		deployment.Descriptor, replicaset.Descriptor,
	}})
}

var deploymentGK = schema.GroupKind{Group: "apps", Kind: "Deployment"}

type spec struct {
	replicas       int32
	image          string
	recreate       bool
	maxSurge       *intstr.IntOrString
	maxUnavailable *intstr.IntOrString
	historyLimit   *int32
	deadline       *int32
}

func newDeployment(ns, name string, s spec) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(s.replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: s.image}}},
			},
			RevisionHistoryLimit:    s.historyLimit,
			ProgressDeadlineSeconds: s.deadline,
		},
	}
	if s.recreate {
		d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	} else if s.maxSurge != nil || s.maxUnavailable != nil {
		d.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: s.maxSurge, MaxUnavailable: s.maxUnavailable}
	}
	return d
}

// kubelet marks every pod of ns Running and Ready, standing in for nodes,
// until the test ends or stop is called.
func kubelet(t *testing.T, ns string) (stop func()) { return slowKubelet(t, ns, 0, nil) }

// slowKubelet is kubelet with pods turning ready only delay after it first
// sees them, and only those that only (if set) accepts.
func slowKubelet(t *testing.T, ns string, delay time.Duration, only func(*corev1.Pod) bool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := map[types.UID]time.Time{}
		for ctx.Err() == nil {
			list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for i := range list.Items {
					p := &list.Items[i]
					if p.DeletionTimestamp != nil || isReady(p) || (only != nil && !only(p)) {
						continue
					}
					if _, ok := seen[p.UID]; !ok {
						seen[p.UID] = time.Now()
					}
					if time.Since(seen[p.UID]) < delay {
						continue
					}
					p.Status.Phase = corev1.PodRunning
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
					_, _ = env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(30 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// watchBounds watches ns's ReplicaSets and pods from now on and checks at
// every event that the ReplicaSets ask for at most maxTotal pods and that at
// least minReady pods are ready. stop ends it and returns how many events it
// checked.
func watchBounds(t *testing.T, ns string, maxTotal, minReady int32) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	sizes := map[string]int32{}
	ready := map[string]bool{}
	events := 0
	check := func(what string) {
		events++
		var total, n int32
		for _, v := range sizes {
			total += v
		}
		for _, r := range ready {
			if r {
				n++
			}
		}
		if total > maxTotal {
			t.Errorf("after %s: replicasets ask for %d pods, more than replicas+maxSurge = %d (%v)", what, total, maxTotal, sizes)
		}
		if n < minReady {
			t.Errorf("after %s: %d ready pods, fewer than replicas-maxUnavailable = %d", what, n, minReady)
		}
	}
	rsList, err := env.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podList, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rsList.Items {
		sizes[rs.Name] = *rs.Spec.Replicas
	}
	for i := range podList.Items {
		ready[podList.Items[i].Name] = podList.Items[i].DeletionTimestamp == nil && isReady(&podList.Items[i])
	}
	check("start")
	rsWatch, err := env.Client.AppsV1().ReplicaSets(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rsList.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	podWatch, err := env.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: podList.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ev := range rsWatch.ResultChan() {
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok {
				continue
			}
			mu.Lock()
			if ev.Type == watch.Deleted {
				delete(sizes, rs.Name)
			} else {
				sizes[rs.Name] = *rs.Spec.Replicas
			}
			check(fmt.Sprintf("%s replicaset %s (%d)", ev.Type, rs.Name, *rs.Spec.Replicas))
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev := range podWatch.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			if ev.Type == watch.Deleted {
				delete(ready, p.Name)
			} else {
				ready[p.Name] = p.DeletionTimestamp == nil && isReady(p)
			}
			check(fmt.Sprintf("%s pod %s", ev.Type, p.Name))
			mu.Unlock()
		}
	}()
	var once sync.Once
	stop = func() int {
		once.Do(func() {
			cancel()
			rsWatch.Stop()
			podWatch.Stop()
			wg.Wait()
		})
		mu.Lock()
		defer mu.Unlock()
		return events
	}
	t.Cleanup(func() { stop() })
	return stop
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func create(t *testing.T, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	out, err := env.Client.AppsV1().Deployments(d.Namespace).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func get(ctx context.Context, ns, name string) (*appsv1.Deployment, error) {
	return env.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
}

func patch(t *testing.T, ns, name, p string) {
	t.Helper()
	if _, err := env.Client.AppsV1().Deployments(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch %s: %v", p, err)
	}
}

func setImage(t *testing.T, ns, name, image string) {
	t.Helper()
	patch(t, ns, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image))
}

// replicaSets are the ReplicaSets d controls, oldest revision first.
func replicaSets(ctx context.Context, d *appsv1.Deployment) ([]appsv1.ReplicaSet, error) {
	list, err := env.Client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == d.UID {
			out = append(out, rs)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Annotations[deployment.RevisionAnnotation] < out[j].Annotations[deployment.RevisionAnnotation]
	})
	return out, nil
}

// rolloutStatus is what `kubectl rollout status` says.
func rolloutStatus(ctx context.Context, ns, name string) (string, bool, error) {
	d, err := get(ctx, ns, name)
	if err != nil {
		return "", false, err
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		return "", false, err
	}
	viewer, err := polymorphichelpers.StatusViewerFor(deploymentGK)
	if err != nil {
		return "", false, err
	}
	return viewer.Status(&unstructured.Unstructured{Object: u}, 0)
}

func waitRolledOut(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		msg, done, err := rolloutStatus(ctx, ns, name)
		if err != nil {
			return false, err
		}
		return holds(done, "kubectl rollout status: %s", strings.TrimSpace(msg))
	}, "deployment %s rolled out", name)
	d, err := get(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func condition(d *appsv1.Deployment, ct appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == ct {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func waitCondition(t *testing.T, ns, name string, ct appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason string) *appsv1.DeploymentCondition {
	t.Helper()
	var c *appsv1.DeploymentCondition
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		d, err := get(ctx, ns, name)
		if err != nil {
			return false, err
		}
		c = condition(d, ct)
		if c == nil || c.Status != status || c.Reason != reason {
			return false, fmt.Errorf("%s condition %+v", ct, c)
		}
		return true, nil
	}, "%s=%s (%s)", ct, status, reason)
	return c
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

func TestRolloutCompletes(t *testing.T) {
	ns := namespace(t)
	kubelet(t, ns)
	d := create(t, newDeployment(ns, "web", spec{replicas: 3, image: "nginx:1"}))
	d = waitRolledOut(t, ns, "web")

	rss, err := replicaSets(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if len(rss) != 1 {
		t.Fatalf("%d replicasets, want 1", len(rss))
	}
	rs := rss[0]
	hash := rs.Labels[deployment.PodTemplateHashLabel]
	if hash == "" || rs.Name != "web-"+hash || rs.Spec.Selector.MatchLabels[deployment.PodTemplateHashLabel] != hash ||
		rs.Spec.Template.Labels[deployment.PodTemplateHashLabel] != hash {
		t.Errorf("replicaset %s: labels %v selector %v template labels %v", rs.Name, rs.Labels, rs.Spec.Selector, rs.Spec.Template.Labels)
	}
	wantAnn := map[string]string{deployment.RevisionAnnotation: "1", deployment.DesiredReplicasAnnotation: "3", deployment.MaxReplicasAnnotation: "4"}
	for k, v := range wantAnn {
		if rs.Annotations[k] != v {
			t.Errorf("replicaset annotation %s = %q, want %q", k, rs.Annotations[k], v)
		}
	}
	if d.Annotations[deployment.RevisionAnnotation] != "1" {
		t.Errorf("deployment revision = %q", d.Annotations[deployment.RevisionAnnotation])
	}
	st := d.Status
	if st.Replicas != 3 || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 || st.UnavailableReplicas != 0 || st.ObservedGeneration != d.Generation {
		t.Errorf("status = %+v", st)
	}
	if c := condition(d, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "MinimumReplicasAvailable" {
		t.Errorf("Available = %+v", c)
	}
	c := waitCondition(t, ns, "web", appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable")
	if want := fmt.Sprintf("ReplicaSet %q has successfully progressed.", rs.Name); c.Message != want {
		t.Errorf("Progressing message %q, want %q", c.Message, want)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		want := fmt.Sprintf("Scaled up replica set %s from 0 to 3", rs.Name)
		for _, e := range evs.Items {
			if e.Reason == "ScalingReplicaSet" && e.Message == want && e.InvolvedObject.UID == d.UID {
				return true, nil
			}
		}
		return false, fmt.Errorf("no event %q", want)
	}, "ScalingReplicaSet event")
}

func TestRollingUpdateBounds(t *testing.T) {
	cases := []struct {
		name                      string
		replicas                  int32
		surge, unavailable        intstr.IntOrString
		wantSurge, wantUnavailble int32
	}{
		{"surge1-unavail1", 4, intstr.FromInt32(1), intstr.FromInt32(1), 1, 1},
		{"surge0-unavail1", 3, intstr.FromInt32(0), intstr.FromInt32(1), 0, 1},
		{"percent", 4, intstr.FromString("50%"), intstr.FromString("0%"), 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace(t)
			slowKubelet(t, ns, 200*time.Millisecond, nil)
			d := create(t, newDeployment(ns, "web", spec{replicas: tc.replicas, image: "nginx:1", maxSurge: &tc.surge, maxUnavailable: &tc.unavailable}))
			waitRolledOut(t, ns, "web")
			stop := watchBounds(t, ns, tc.replicas+tc.wantSurge, tc.replicas-tc.wantUnavailble)
			setImage(t, ns, "web", "nginx:2")
			controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
				rss, err := replicaSets(ctx, d)
				if err != nil {
					return false, err
				}
				msg, done, err := rolloutStatus(ctx, ns, "web")
				if err != nil {
					return false, err
				}
				return holds(done && len(rss) == 2, "%s (%d replicasets)", strings.TrimSpace(msg), len(rss))
			}, "rolling update")
			events := stop()
			// Every new pod is one step at least: far more than a handful
			// of observations.
			if events < int(2*tc.replicas) {
				t.Errorf("only %d events observed", events)
			}
			t.Logf("bounds held over %d events", events)
			rss, err := replicaSets(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if rss[0].Annotations[deployment.RevisionAnnotation] != "1" || *rss[0].Spec.Replicas != 0 ||
				rss[1].Annotations[deployment.RevisionAnnotation] != "2" || *rss[1].Spec.Replicas != tc.replicas ||
				rss[1].Spec.Template.Spec.Containers[0].Image != "nginx:2" {
				t.Errorf("after rollout: old %s rev %s replicas %d, new %s rev %s replicas %d",
					rss[0].Name, rss[0].Annotations[deployment.RevisionAnnotation], *rss[0].Spec.Replicas,
					rss[1].Name, rss[1].Annotations[deployment.RevisionAnnotation], *rss[1].Spec.Replicas)
			}
		})
	}
}

func TestRecreate(t *testing.T) {
	ns := namespace(t)
	kubelet(t, ns)
	d := create(t, newDeployment(ns, "web", spec{replicas: 2, image: "nginx:1", recreate: true}))
	waitRolledOut(t, ns, "web")
	rss, err := replicaSets(context.Background(), d)
	if err != nil || len(rss) != 1 {
		t.Fatalf("replicasets %v, %v", len(rss), err)
	}
	oldUID := rss[0].UID
	setImage(t, ns, "web", "nginx:2")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var old, new int
		for i := range pods.Items {
			ref := metav1.GetControllerOf(&pods.Items[i])
			if ref == nil {
				continue
			}
			if ref.UID == oldUID {
				old++
			} else {
				new++
			}
		}
		if old > 0 && new > 0 {
			t.Fatalf("recreate runs %d old and %d new pods at once", old, new)
		}
		msg, done, err := rolloutStatus(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		return holds(done && new == 2, "%s", strings.TrimSpace(msg))
	}, "recreate rollout")
}

func TestPauseResume(t *testing.T) {
	ns := namespace(t)
	kubelet(t, ns)
	d := create(t, newDeployment(ns, "web", spec{replicas: 2, image: "nginx:1"}))
	waitRolledOut(t, ns, "web")
	patch(t, ns, "web", `{"spec":{"paused":true}}`)
	c := waitCondition(t, ns, "web", appsv1.DeploymentProgressing, corev1.ConditionUnknown, "DeploymentPaused")
	if c.Message != "Deployment is paused" {
		t.Errorf("message %q", c.Message)
	}
	setImage(t, ns, "web", "nginx:2")
	// Scaling still applies while paused; the template change does not.
	patch(t, ns, "web", `{"spec":{"replicas":3}}`)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		cur, err := get(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		rss, err := replicaSets(ctx, d)
		if err != nil {
			return false, err
		}
		if len(rss) != 1 {
			t.Fatalf("paused deployment created a replicaset: %d", len(rss))
		}
		return holds(cur.Status.ObservedGeneration == cur.Generation && *rss[0].Spec.Replicas == 3 && rss[0].Status.ReadyReplicas == 3,
			"observed %d of %d, rs replicas %d", cur.Status.ObservedGeneration, cur.Generation, *rss[0].Spec.Replicas)
	}, "paused deployment scaled")
	patch(t, ns, "web", `{"spec":{"paused":false}}`)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		rss, err := replicaSets(ctx, d)
		return err == nil && len(rss) == 2, err
	}, "rollout after resume")
	cur := waitRolledOut(t, ns, "web")
	if cur.Status.UpdatedReplicas != 3 {
		t.Errorf("updatedReplicas %d", cur.Status.UpdatedReplicas)
	}
	waitCondition(t, ns, "web", appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable")
}

func TestRollbackAndHistory(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	kubelet(t, ns)
	d := create(t, newDeployment(ns, "web", spec{replicas: 2, image: "nginx:1"}))
	waitRolledOut(t, ns, "web")
	setImage(t, ns, "web", "nginx:2")
	waitRolledOut(t, ns, "web")

	hv, err := polymorphichelpers.HistoryViewerFor(deploymentGK, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	history, err := hv.ViewHistory(ns, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(history, "1 ") || !strings.Contains(history, "2 ") {
		t.Errorf("kubectl rollout history:\n%s", history)
	}

	// `kubectl rollout undo`: patches the template back to revision 1's.
	rb, err := polymorphichelpers.RollbackerFor(deploymentGK, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := get(ctx, ns, "web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Rollback(cur, nil, 0, cmdutil.DryRunNone); err != nil {
		t.Fatal(err)
	}
	cur = waitRolledOut(t, ns, "web")
	if img := cur.Spec.Template.Spec.Containers[0].Image; img != "nginx:1" {
		t.Fatalf("image after undo = %s", img)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		rss, err := replicaSets(ctx, d)
		if err != nil {
			return false, err
		}
		if len(rss) != 2 {
			return false, fmt.Errorf("%d replicasets, want the two revisions reused", len(rss))
		}
		// Sorted by revision: "2" (nginx:2) then "3" (the old nginx:1 one).
		old, back := rss[0], rss[1]
		if back.Annotations[deployment.RevisionAnnotation] != "3" || back.Spec.Template.Spec.Containers[0].Image != "nginx:1" ||
			back.Annotations[deployment.RevisionHistoryAnnotation] != "1" || *back.Spec.Replicas != 2 || *old.Spec.Replicas != 0 {
			return false, fmt.Errorf("replicasets: %s rev %s (%s) x%d; %s rev %s history %q (%s) x%d",
				old.Name, old.Annotations[deployment.RevisionAnnotation], old.Spec.Template.Spec.Containers[0].Image, *old.Spec.Replicas,
				back.Name, back.Annotations[deployment.RevisionAnnotation], back.Annotations[deployment.RevisionHistoryAnnotation],
				back.Spec.Template.Spec.Containers[0].Image, *back.Spec.Replicas)
		}
		d, err := get(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		return holds(d.Annotations[deployment.RevisionAnnotation] == "3", "deployment revision %q", d.Annotations[deployment.RevisionAnnotation])
	}, "undo reuses revision 1's replicaset as revision 3")

	// `kubectl rollout restart` stamps an annotation on the template: a new revision.
	patch(t, ns, "web", fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339)))
	waitRolledOut(t, ns, "web")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		rss, err := replicaSets(ctx, d)
		return holds(err == nil && len(rss) == 3 && rss[2].Annotations[deployment.RevisionAnnotation] == "4", "%d replicasets", len(rss))
	}, "restart creates revision 4")
}

func TestRevisionHistoryLimit(t *testing.T) {
	ns := namespace(t)
	kubelet(t, ns)
	d := create(t, newDeployment(ns, "web", spec{replicas: 1, image: "nginx:1", historyLimit: ptr.To[int32](1)}))
	waitRolledOut(t, ns, "web")
	for _, img := range []string{"nginx:2", "nginx:3", "nginx:4"} {
		setImage(t, ns, "web", img)
		waitRolledOut(t, ns, "web")
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		rss, err := replicaSets(ctx, d)
		if err != nil {
			return false, err
		}
		var revs []string
		for _, rs := range rss {
			revs = append(revs, rs.Annotations[deployment.RevisionAnnotation])
		}
		return holds(strings.Join(revs, ",") == "3,4", "revisions %v, want 3,4", revs)
	}, "old replicasets pruned to revisionHistoryLimit")
}

func TestProgressDeadlineExceeded(t *testing.T) {
	ns := namespace(t)
	// No kubelet: pods never become ready.
	start := time.Now()
	create(t, newDeployment(ns, "web", spec{replicas: 2, image: "nginx:1", deadline: ptr.To[int32](2)}))
	c := waitCondition(t, ns, "web", appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded")
	if !strings.HasSuffix(c.Message, "has timed out progressing.") {
		t.Errorf("message %q", c.Message)
	}
	// The Progressing condition's lastUpdateTime is stored to the second
	// (as upstream's is), so the deadline may be judged up to 1 s early.
	if since := time.Since(start); since < 2*time.Second-time.Second {
		t.Errorf("deadline exceeded after %s, more than a second before progressDeadlineSeconds (2s)", since)
	}
	d, err := get(context.Background(), ns, "web")
	if err != nil {
		t.Fatal(err)
	}
	if a := condition(d, appsv1.DeploymentAvailable); a == nil || a.Status != corev1.ConditionFalse || a.Reason != "MinimumReplicasUnavailable" {
		t.Errorf("Available = %+v", a)
	}
	if _, _, err := rolloutStatus(context.Background(), ns, "web"); err == nil || !strings.Contains(err.Error(), "exceeded its progress deadline") {
		t.Errorf("kubectl rollout status error = %v", err)
	}
}

// TestProportionalScaling resizes a Deployment whose rollout is stuck (new
// pods never become ready): both ReplicaSets grow in proportion to their
// size.
func TestProportionalScaling(t *testing.T) {
	ns := namespace(t)
	slowKubelet(t, ns, 0, func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image == "nginx:1" })
	surge, unavailable := intstr.FromInt32(3), intstr.FromInt32(2)
	d := create(t, newDeployment(ns, "web", spec{replicas: 10, image: "nginx:1", maxSurge: &surge, maxUnavailable: &unavailable}))
	waitRolledOut(t, ns, "web")
	setImage(t, ns, "web", "nginx:2")
	sizes := func(ctx context.Context) ([2]int32, error) {
		rss, err := replicaSets(ctx, d)
		if err != nil {
			return [2]int32{}, err
		}
		if len(rss) != 2 {
			return [2]int32{}, fmt.Errorf("%d replicasets", len(rss))
		}
		return [2]int32{*rss[0].Spec.Replicas, *rss[1].Spec.Replicas}, nil
	}
	// Stuck: old scaled to replicas-maxUnavailable = 8, new up to
	// replicas+maxSurge-8 = 5, none of them ready.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := sizes(ctx)
		return holds(err == nil && got == [2]int32{8, 5}, "sizes %v (%v)", got, err)
	}, "rollout stuck at old 8, new 5")
	// 20 replicas: 23 pods allowed, 13 now; the old ReplicaSet gets
	// round(8*23/13)-8 = 6 of the 10, the new one round(5*23/13)-5 = 4.
	patch(t, ns, "web", `{"spec":{"replicas":20}}`)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		got, err := sizes(ctx)
		return holds(err == nil && got == [2]int32{14, 9}, "sizes %v (%v)", got, err)
	}, "proportional scale-up to old 14, new 9")
	rss, err := replicaSets(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss {
		if rs.Annotations[deployment.DesiredReplicasAnnotation] != "20" || rs.Annotations[deployment.MaxReplicasAnnotation] != "23" {
			t.Errorf("%s annotations %v", rs.Name, rs.Annotations)
		}
	}
}
