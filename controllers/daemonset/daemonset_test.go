package daemonset_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/daemonset"
)

var (
	env *controllertest.Env
	// kc is an admin clientset without client-side throttling.
	kc     kubernetes.Interface
	kcOnce sync.Once
)

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{Controllers: []controllers.Descriptor{daemonset.Descriptor}})
}

// namespace is a fresh namespace with the default service account.
func namespace(t *testing.T) string {
	t.Helper()
	kcOnce.Do(func() {
		cfg := rest.CopyConfig(env.Config)
		cfg.QPS, cfg.Burst, cfg.RateLimiter = 500, 1000, nil
		kc = kubernetes.NewForConfigOrDie(cfg)
	})
	ns := env.Namespace(t)
	return ns
}

// addNode creates a node labelled test=<ns> plus extra, removed when the
// test ends. Nodes are cluster-wide: each test's DaemonSets select theirs.
func addNode(t *testing.T, ns, name string, extra map[string]string, taints ...corev1.Taint) string {
	t.Helper()
	lbls := map[string]string{"test": ns, corev1.LabelHostname: ns + "-" + name}
	for k, v := range extra {
		lbls[k] = v
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name, Labels: lbls}, Spec: corev1.NodeSpec{Taints: taints}}
	created, err := kc.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	t.Cleanup(func() { _ = kc.CoreV1().Nodes().Delete(context.Background(), node.Name, metav1.DeleteOptions{}) })
	// Admission taints a new node not-ready:NoSchedule; play the node
	// lifecycle controller for a node that is Ready.
	created.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if created, err = kc.CoreV1().Nodes().UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node status: %v", err)
	}
	created.Spec.Taints = taints
	if _, err := kc.CoreV1().Nodes().Update(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node taints: %v", err)
	}
	return node.Name
}

func newDS(ns, name string, nodeSelector map[string]string) *appsv1.DaemonSet {
	lbls := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{
					NodeSelector: nodeSelector,
					Containers:   []corev1.Container{{Name: "c", Image: "img:1"}},
				},
			},
		},
	}
}

func createDS(t *testing.T, ds *appsv1.DaemonSet) {
	t.Helper()
	if _, err := kc.AppsV1().DaemonSets(ds.Namespace).Create(context.Background(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create daemonset: %v", err)
	}
}

func updateDS(t *testing.T, ns, name string, mutate func(*appsv1.DaemonSet)) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ds, err := kc.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		mutate(ds)
		_, err = kc.AppsV1().DaemonSets(ns).Update(ctx, ds, metav1.UpdateOptions{})
		return err == nil, err
	}, "update daemonset %s", name)
}

// affinityNode is the node a daemon pod's required node affinity names.
func affinityNode(pod *corev1.Pod) string {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// kubelet is one step of a scheduler and kubelet stand-in: it binds
// unbound pods to the node their affinity names, marks bound pods for
// which ready says so Running and Ready, and finishes terminating pods.
// It returns the live pods by node.
func kubelet(ctx context.Context, ns string, ready func(*corev1.Pod) bool) (map[string][]*corev1.Pod, error) {
	list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string][]*corev1.Pod{}
	for i := range list.Items {
		pod := &list.Items[i]
		switch {
		case pod.DeletionTimestamp != nil:
			err := kc.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, err
			}
			continue
		case pod.Spec.NodeName == "":
			node := affinityNode(pod)
			if node == "" {
				return nil, fmt.Errorf("pod %s has no node affinity", pod.Name)
			}
			b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
			if err := kc.CoreV1().Pods(ns).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
				return nil, err
			}
			pod.Spec.NodeName = node
		case ready(pod) && pod.Status.Phase != corev1.PodRunning:
			upd := pod.DeepCopy()
			upd.Status.Phase = corev1.PodRunning
			upd.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
			if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
				return nil, err
			}
			pod = upd
		}
		out[pod.Spec.NodeName] = append(out[pod.Spec.NodeName], pod)
	}
	return out, nil
}

func all(*corev1.Pod) bool { return true }

func isReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func getDS(ctx context.Context, ns, name string) (*appsv1.DaemonSet, error) {
	return kc.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
}

// waitSteady runs the kubelet until the DaemonSet has one ready, updated
// pod on exactly the nodes named.
func waitSteady(t *testing.T, ns, name string, nodes ...string) (*appsv1.DaemonSet, map[string][]*corev1.Pod) {
	t.Helper()
	var ds *appsv1.DaemonSet
	var byNode map[string][]*corev1.Pod
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last state: %s", last)
		}
	}()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		if byNode, err = kubelet(ctx, ns, all); err != nil {
			return false, err
		}
		if ds, err = getDS(ctx, ns, name); err != nil {
			return false, err
		}
		last = fmt.Sprintf("pods %v status %+v", podNames(byNode), ds.Status)
		if len(byNode) != len(nodes) {
			return false, nil
		}
		for _, n := range nodes {
			if len(byNode[n]) != 1 || !isReady(byNode[n][0]) {
				return false, nil
			}
		}
		n := int32(len(nodes))
		st := ds.Status
		return st.ObservedGeneration == ds.Generation && st.DesiredNumberScheduled == n && st.CurrentNumberScheduled == n &&
			st.NumberReady == n && st.NumberAvailable == n && st.UpdatedNumberScheduled == n && st.NumberUnavailable == 0 &&
			st.NumberMisscheduled == 0, nil
	}, "daemonset %s steady on %v", name, nodes)
	return ds, byNode
}

func podNames(byNode map[string][]*corev1.Pod) map[string][]string {
	out := map[string][]string{}
	for n, ps := range byNode {
		for _, p := range ps {
			out[n] = append(out[n], p.Name+"@"+p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey])
		}
	}
	return out
}

func TestOnePodPerEligibleNode(t *testing.T) {
	ns := namespace(t)
	worker := map[string]string{"role": "worker"}
	a := addNode(t, ns, "a", worker)
	addNode(t, ns, "b", worker, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	addNode(t, ns, "c", nil)
	// A node the default tolerations let through.
	d := addNode(t, ns, "d", worker, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	createDS(t, newDS(ns, "agent", map[string]string{"test": ns, "role": "worker"}))

	_, byNode := waitSteady(t, ns, "agent", a, d)
	pod := byNode[a][0]
	if ref := metav1.GetControllerOf(pod); ref == nil || ref.Kind != "DaemonSet" || ref.Name != "agent" {
		t.Errorf("controller %v", ref)
	}
	if pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == "" {
		t.Errorf("labels %v lack the revision hash", pod.Labels)
	}
	if affinityNode(pod) != a {
		t.Errorf("affinity %+v, want metadata.name In [%s]", pod.Spec.Affinity, a)
	}
	want := map[string]corev1.TaintEffect{
		corev1.TaintNodeNotReady: corev1.TaintEffectNoExecute, corev1.TaintNodeUnreachable: corev1.TaintEffectNoExecute,
		corev1.TaintNodeDiskPressure: corev1.TaintEffectNoSchedule, corev1.TaintNodeMemoryPressure: corev1.TaintEffectNoSchedule,
		corev1.TaintNodePIDPressure: corev1.TaintEffectNoSchedule, corev1.TaintNodeUnschedulable: corev1.TaintEffectNoSchedule,
	}
	for _, tol := range pod.Spec.Tolerations {
		if eff, ok := want[tol.Key]; ok && eff == tol.Effect && tol.Operator == corev1.TolerationOpExists && tol.TolerationSeconds == nil {
			delete(want, tol.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing default tolerations %v in %v", want, pod.Spec.Tolerations)
	}

	// A new matching node gets a pod.
	e := addNode(t, ns, "e", worker)
	waitSteady(t, ns, "agent", a, d, e)

	// A NoSchedule taint keeps the running pod (misscheduled); losing the
	// selected label removes it.
	node, err := kc.CoreV1().Nodes().Get(context.Background(), e, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	if _, err := kc.CoreV1().Nodes().Update(context.Background(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		byNode, err := kubelet(ctx, ns, all)
		if err != nil {
			return false, err
		}
		ds, err := getDS(ctx, ns, "agent")
		if err != nil {
			return false, err
		}
		return len(byNode[e]) == 1 && ds.Status.NumberMisscheduled == 1 && ds.Status.DesiredNumberScheduled == 2, nil
	}, "pod kept on the newly tainted node, counted misscheduled")
	node, err = kc.CoreV1().Nodes().Get(context.Background(), a, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(node.Labels, "role")
	if _, err := kc.CoreV1().Nodes().Update(context.Background(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		byNode, err := kubelet(ctx, ns, all)
		if err != nil {
			return false, err
		}
		return len(byNode[a]) == 0 && len(byNode[d]) == 1, nil
	}, "pod removed from the node that no longer matches")
}

func revisions(ctx context.Context, ns string) ([]appsv1.ControllerRevision, error) {
	list, err := kc.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Revision < list.Items[j].Revision })
	return list.Items, nil
}

func TestRollingUpdate(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		maxUnavailable, maxSurge intstr.IntOrString
		// minAvailable is the fewest nodes with an available pod allowed
		// during the update; maxPods the most pods at once.
		minAvailable, maxPods int
	}{
		{"max-unavailable-2", intstr.FromInt32(2), intstr.FromInt32(0), 2, 4},
		{"max-surge-1", intstr.FromInt32(0), intstr.FromInt32(1), 4, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace(t)
			var nodes []string
			for _, n := range []string{"a", "b", "c", "d"} {
				nodes = append(nodes, addNode(t, ns, n, nil))
			}
			ds := newDS(ns, "ru", map[string]string{"test": ns})
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &tc.maxUnavailable, MaxSurge: &tc.maxSurge}}
			createDS(t, ds)
			waitSteady(t, ns, "ru", nodes...)
			revs, err := revisions(context.Background(), ns)
			if err != nil || len(revs) != 1 {
				t.Fatalf("revisions %d, %v", len(revs), err)
			}
			oldHash := revs[0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey]

			updateDS(t, ns, "ru", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "img:2" })
			check := func(byNode map[string][]*corev1.Pod) error {
				available, total := 0, 0
				for _, n := range nodes {
					ok := false
					for _, p := range byNode[n] {
						total++
						ok = ok || isReady(p)
					}
					if ok {
						available++
					}
				}
				if available < tc.minAvailable || total > tc.maxPods {
					return fmt.Errorf("%d nodes available (min %d), %d pods (max %d): %v", available, tc.minAvailable, total, tc.maxPods, podNames(byNode))
				}
				return nil
			}
			oldOnly := func(p *corev1.Pod) bool { return p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == oldHash }
			// New pods stay unready: the update must stop at its budget.
			budget := 4 - tc.minAvailable
			if tc.maxPods > 4 {
				budget = tc.maxPods - 4
			}
			var violation error
			controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
				byNode, err := kubelet(ctx, ns, oldOnly)
				if err != nil {
					return false, err
				}
				if err := check(byNode); err != nil && violation == nil {
					violation = err
				}
				fresh := 0
				for _, ps := range byNode {
					for _, p := range ps {
						if !oldOnly(p) {
							fresh++
						}
					}
				}
				ds, err := getDS(ctx, ns, "ru")
				if err != nil {
					return false, err
				}
				if ds.Status.ObservedGeneration == ds.Generation && ds.Status.UpdatedNumberScheduled > int32(budget) && violation == nil {
					violation = fmt.Errorf("updated %d beyond the budget %d", ds.Status.UpdatedNumberScheduled, budget)
				}
				return fresh == budget && ds.Status.ObservedGeneration == ds.Generation, nil
			}, "%d new pods", budget)
			controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
				byNode, err := kubelet(ctx, ns, all)
				if err != nil {
					return false, err
				}
				if err := check(byNode); err != nil && violation == nil {
					violation = err
				}
				ds, err := getDS(ctx, ns, "ru")
				if err != nil {
					return false, err
				}
				return ds.Status.UpdatedNumberScheduled == 4 && ds.Status.NumberAvailable == 4 && len(byNode) == 4, nil
			}, "rollout complete")
			if violation != nil {
				t.Fatalf("rolling update broke its bounds: %v", violation)
			}
			waitSteady(t, ns, "ru", nodes...)
			revs, err = revisions(context.Background(), ns)
			if err != nil || len(revs) != 2 || revs[1].Revision != 2 {
				t.Fatalf("revisions after update: %d, %v", len(revs), err)
			}
		})
	}
}

func TestOnDeleteAndHistory(t *testing.T) {
	ns := namespace(t)
	a, b := addNode(t, ns, "a", nil), addNode(t, ns, "b", nil)
	ds := newDS(ns, "od", map[string]string{"test": ns})
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	createDS(t, ds)
	_, byNode := waitSteady(t, ns, "od", a, b)
	oldHash := byNode[a][0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey]

	updateDS(t, ns, "od", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "img:2" })
	var newHash string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		revs, err := revisions(ctx, ns)
		if err != nil || len(revs) != 2 {
			return false, err
		}
		newHash = revs[1].Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
		ds, err := getDS(ctx, ns, "od")
		return err == nil && ds.Status.ObservedGeneration == ds.Generation && ds.Status.UpdatedNumberScheduled == 0, err
	}, "new revision recorded, no pod updated")
	old := byNode[a][0]
	if err := kc.CoreV1().Pods(ns).Delete(context.Background(), old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		byNode, err := kubelet(ctx, ns, all)
		if err != nil {
			return false, err
		}
		return len(byNode[a]) == 1 && byNode[a][0].UID != old.UID &&
			byNode[a][0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == newHash &&
			len(byNode[b]) == 1 && byNode[b][0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == oldHash, nil
	}, "deleted pod replaced at the new revision, the other left alone")

	// Rolling the template back reuses the first revision, renumbered.
	updateDS(t, ns, "od", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "img:1" })
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		revs, err := revisions(ctx, ns)
		if err != nil || len(revs) != 2 {
			return false, err
		}
		return revs[1].Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == oldHash && revs[1].Revision == 3, nil
	}, "first revision renumbered 3")
}
