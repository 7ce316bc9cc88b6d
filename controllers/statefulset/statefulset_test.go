package statefulset_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/statefulset"
)

var (
	env *controllertest.Env
	// kc is an admin clientset without client-side throttling: the tests
	// poll often.
	kc     kubernetes.Interface
	kcOnce sync.Once
)

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{Controllers: []controllers.Descriptor{statefulset.Descriptor}})
}

// namespace is a fresh namespace with the default service account (no
// serviceaccount controller runs here, and admission requires it).
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

func newSet(ns, name string, replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	lbls := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(replicas),
			Selector:            &metav1.LabelSelector{MatchLabels: lbls},
			ServiceName:         name + "-svc",
			PodManagementPolicy: policy,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}},
			},
		},
	}
}

func createSet(t *testing.T, set *appsv1.StatefulSet) *appsv1.StatefulSet {
	t.Helper()
	out, err := kc.AppsV1().StatefulSets(set.Namespace).Create(context.Background(), set, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create statefulset: %v", err)
	}
	return out
}

// updateSet applies mutate to the newest set, retrying on conflicts.
func updateSet(t *testing.T, ns, name string, mutate func(*appsv1.StatefulSet)) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		set, err := kc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		mutate(set)
		_, err = kc.AppsV1().StatefulSets(ns).Update(ctx, set, metav1.UpdateOptions{})
		return err == nil, err
	}, "update statefulset %s", name)
}

func pods(ctx context.Context, ns string) (map[string]*corev1.Pod, error) {
	list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// markReady plays the kubelet: the pod runs and is ready.
func markReady(ctx context.Context, pod *corev1.Pod) error {
	if pod.Status.Phase == corev1.PodRunning && len(pod.Status.Conditions) > 0 {
		return nil
	}
	pod = pod.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	_, err := kc.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

// readyAll marks every pod of ns ready and reports how many there are.
func readyAll(ctx context.Context, ns string) (map[string]*corev1.Pod, error) {
	ps, err := pods(ctx, ns)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.DeletionTimestamp == nil {
			if err := markReady(ctx, p); err != nil {
				return nil, err
			}
		}
	}
	return ps, nil
}

func getSet(ctx context.Context, ns, name string) (*appsv1.StatefulSet, error) {
	return kc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
}

// waitSteady readies pods until the set reports want ready replicas, all
// at its update revision (which is then current).
func waitSteady(t *testing.T, ns, name string, want int32) *appsv1.StatefulSet {
	t.Helper()
	var set *appsv1.StatefulSet
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ps, err := readyAll(ctx, ns)
		if err != nil {
			return false, err
		}
		set, err = getSet(ctx, ns, name)
		if err != nil {
			return false, err
		}
		st := set.Status
		return int32(len(ps)) == want && st.ObservedGeneration == set.Generation && st.ReadyReplicas == want &&
			st.Replicas == want && st.UpdatedReplicas == want && st.CurrentRevision == st.UpdateRevision, nil
	}, "statefulset %s steady at %d ready replicas", name, want)
	return set
}

// watchDeletions records the names of pods deleted in ns, in order.
func watchDeletions(t *testing.T, ns string) func() []string {
	t.Helper()
	w, err := kc.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	t.Cleanup(w.Stop)
	var order []string
	return func() []string {
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					return order
				}
				if ev.Type == watch.Deleted {
					order = append(order, ev.Object.(*corev1.Pod).Name)
				}
			default:
				return order
			}
		}
	}
}

func TestOrderedReadyCreationWaitsForReadiness(t *testing.T) {
	ns := namespace(t)
	set := newSet(ns, "web", 3, appsv1.OrderedReadyPodManagement)
	set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 2}
	createSet(t, set)

	for _, step := range []struct{ created, absent string }{
		{"web-2", "web-3"},
		{"web-3", "web-4"},
		{"web-4", ""},
	} {
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			s, err := getSet(ctx, ns, "web")
			if err != nil {
				return false, err
			}
			ps, err := pods(ctx, ns)
			if err != nil {
				return false, err
			}
			_, ok := ps[step.created]
			// Status counts the created pod: the controller has seen it
			// unready and stopped there.
			return ok && int(s.Status.Replicas) == len(ps), nil
		}, "%s created", step.created)
		ps, err := pods(context.Background(), ns)
		if err != nil {
			t.Fatal(err)
		}
		if step.absent != "" {
			if _, ok := ps[step.absent]; ok {
				t.Fatalf("%s created before %s was ready", step.absent, step.created)
			}
		}
		p := ps[step.created]
		if p.Spec.Hostname != p.Name || p.Spec.Subdomain != "web-svc" {
			t.Errorf("%s: hostname %q subdomain %q", p.Name, p.Spec.Hostname, p.Spec.Subdomain)
		}
		wantIndex := p.Name[len("web-"):]
		if p.Labels[appsv1.StatefulSetPodNameLabel] != p.Name || p.Labels[appsv1.PodIndexLabel] != wantIndex || p.Labels[appsv1.ControllerRevisionHashLabelKey] == "" {
			t.Errorf("%s: labels %v", p.Name, p.Labels)
		}
		if ref := metav1.GetControllerOf(p); ref == nil || ref.Kind != "StatefulSet" || ref.Name != "web" {
			t.Errorf("%s: controller %v", p.Name, ref)
		}
		if err := markReady(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	s := waitSteady(t, ns, "web", 3)
	if s.Status.AvailableReplicas != 3 || s.Status.CurrentReplicas != 3 || s.Status.CollisionCount == nil {
		t.Errorf("status %+v", s.Status)
	}
}

func TestParallelCreatesAllAtOnce(t *testing.T) {
	ns := namespace(t)
	createSet(t, newSet(ns, "par", 3, appsv1.ParallelPodManagement))
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ps, err := pods(ctx, ns)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			if p.Status.Phase == corev1.PodRunning {
				return false, fmt.Errorf("pod %s is running: the test marked nothing ready", p.Name)
			}
		}
		return len(ps) == 3, nil
	}, "three pods without readiness")
}

func TestScaleDownInReverseOrder(t *testing.T) {
	ns := namespace(t)
	createSet(t, newSet(ns, "db", 3, appsv1.OrderedReadyPodManagement))
	waitSteady(t, ns, "db", 3)
	deletions := watchDeletions(t, ns)
	updateSet(t, ns, "db", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	waitSteady(t, ns, "db", 1)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		return len(deletions()) == 2, nil
	}, "two deletions observed")
	if got := deletions(); got[0] != "db-2" || got[1] != "db-1" {
		t.Fatalf("deletion order %v, want [db-2 db-1]", got)
	}
}

func claimTemplate() corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "storage"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func TestVolumeClaimTemplatesAndRetention(t *testing.T) {
	del, retain := appsv1.DeletePersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	for _, tc := range []struct {
		name                    string
		whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType
		// owner kinds expected on data-<set>-0 (kept) and data-<set>-1
		// (scaled away)
		keptOwner, scaledOwner string
	}{
		{"retain", retain, retain, "", ""},
		{"delete-on-delete", del, retain, "StatefulSet", "StatefulSet"},
		{"delete-on-scale", retain, del, "", "Pod"},
		{"delete-both", del, del, "StatefulSet", "Pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace(t)
			set := newSet(ns, "vol", 2, appsv1.OrderedReadyPodManagement)
			set.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claimTemplate()}
			set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: tc.whenDeleted, WhenScaled: tc.whenScaled}
			createSet(t, set)
			waitSteady(t, ns, "vol", 2)
			ctx := context.Background()
			for i := 0; i < 2; i++ {
				pvc, err := kc.CoreV1().PersistentVolumeClaims(ns).Get(ctx, fmt.Sprintf("data-vol-%d", i), metav1.GetOptions{})
				if err != nil {
					t.Fatalf("claim %d: %v", i, err)
				}
				if pvc.Labels["tier"] != "storage" || pvc.Labels["app"] != "vol" {
					t.Errorf("claim labels %v", pvc.Labels)
				}
				pod, err := kc.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("vol-%d", i), metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var found bool
				for _, v := range pod.Spec.Volumes {
					found = found || (v.Name == "data" && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name)
				}
				if !found {
					t.Errorf("pod %s volumes %v lack claim %s", pod.Name, pod.Spec.Volumes, pvc.Name)
				}
			}
			updateSet(t, ns, "vol", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
			waitSteady(t, ns, "vol", 1)
			for i, want := range []string{tc.keptOwner, tc.scaledOwner} {
				name := fmt.Sprintf("data-vol-%d", i)
				controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
					pvc, err := kc.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return false, err
					}
					ref := metav1.GetControllerOf(pvc)
					if want == "" {
						return len(pvc.OwnerReferences) == 0, nil
					}
					return ref != nil && ref.Kind == want && len(pvc.OwnerReferences) == 1, nil
				}, "claim %s owned by %q", name, want)
			}
		})
	}
}

func revisionsOf(ctx context.Context, ns string) ([]appsv1.ControllerRevision, error) {
	list, err := kc.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Revision < list.Items[j].Revision })
	return list.Items, nil
}

func TestRollingUpdateWithPartition(t *testing.T) {
	ns := namespace(t)
	createSet(t, newSet(ns, "ru", 3, appsv1.OrderedReadyPodManagement))
	before := waitSteady(t, ns, "ru", 3)
	oldRev := before.Status.CurrentRevision
	deletions := watchDeletions(t, ns)

	updateSet(t, ns, "ru", func(s *appsv1.StatefulSet) {
		s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}}
		s.Spec.Template.Spec.Containers[0].Image = "img:2"
	})
	var newRev string
	var last error
	defer func() {
		if t.Failed() {
			t.Logf("last state: %v", last)
		}
	}()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ps, err := readyAll(ctx, ns)
		if err != nil {
			return false, err
		}
		s, err := getSet(ctx, ns, "ru")
		if err != nil {
			return false, err
		}
		newRev = s.Status.UpdateRevision
		p1, p2 := ps["ru-1"], ps["ru-2"]
		if p1 == nil || p2 == nil {
			return false, fmt.Errorf("pods %v; status %+v", len(ps), s.Status)
		}
		state := fmt.Errorf("ru-1 at %s, ru-2 at %s; status %+v", p1.Labels[appsv1.ControllerRevisionHashLabelKey], p2.Labels[appsv1.ControllerRevisionHashLabelKey], s.Status)
		ok := s.Status.ObservedGeneration == s.Generation && newRev != oldRev &&
			p1.Labels[appsv1.ControllerRevisionHashLabelKey] == newRev && p2.Labels[appsv1.ControllerRevisionHashLabelKey] == newRev &&
			s.Status.UpdatedReplicas == 2 && s.Status.ReadyReplicas == 3 && s.Status.CurrentReplicas == 1
		last = state
		return ok, nil
	}, "ordinals 1 and 2 updated")
	ps, _ := pods(context.Background(), ns)
	for _, n := range []string{"ru-0"} {
		if got := ps[n].Labels[appsv1.ControllerRevisionHashLabelKey]; got != oldRev {
			t.Errorf("%s at revision %s below the partition, want %s", n, got, oldRev)
		}
	}
	if s, _ := getSet(context.Background(), ns, "ru"); s.Status.CurrentRevision != oldRev {
		t.Errorf("current revision %s during a partitioned update, want %s", s.Status.CurrentRevision, oldRev)
	}

	updateSet(t, ns, "ru", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](0) })
	after := waitSteady(t, ns, "ru", 3)
	if after.Status.CurrentRevision != newRev {
		t.Errorf("current revision %s, want %s", after.Status.CurrentRevision, newRev)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) { return len(deletions()) == 3, nil }, "three deletions")
	if got := deletions(); fmt.Sprint(got) != "[ru-2 ru-1 ru-0]" {
		// ru-2 and ru-1 go first (ordinals >= the partition of 1), highest
		// first; ru-0 once the partition drops to 0.
		t.Errorf("update order %v, want highest first", got)
	}

	revs, err := revisionsOf(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].Name != oldRev || revs[1].Name != newRev || revs[0].Revision != 1 || revs[1].Revision != 2 {
		t.Fatalf("revisions %v", revNames(revs))
	}
	// Rolling back to the first template reuses its revision, renumbered.
	updateSet(t, ns, "ru", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "img:1" })
	back := waitSteady(t, ns, "ru", 3)
	if back.Status.UpdateRevision != oldRev {
		t.Errorf("rollback update revision %s, want %s", back.Status.UpdateRevision, oldRev)
	}
	revs, _ = revisionsOf(context.Background(), ns)
	if len(revs) != 2 || revs[1].Name != oldRev || revs[1].Revision != 3 {
		t.Errorf("revisions after rollback %v", revNames(revs))
	}
}

func revNames(revs []appsv1.ControllerRevision) []string {
	var out []string
	for _, r := range revs {
		out = append(out, fmt.Sprintf("%s@%d", r.Name, r.Revision))
	}
	return out
}

func TestMaxUnavailableRollingUpdate(t *testing.T) {
	ns := namespace(t)
	set := newSet(ns, "mu", 4, appsv1.ParallelPodManagement)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr.To(intstr.FromInt32(2))}}
	createSet(t, set)
	waitSteady(t, ns, "mu", 4)
	s, _ := getSet(context.Background(), ns, "mu")
	if s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable == nil {
		t.Skip("the API server drops maxUnavailable (MaxUnavailableStatefulSet disabled)")
	}
	updateSet(t, ns, "mu", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "img:2" })
	// Without readiness, exactly two pods are replaced: 3 and 2.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := getSet(ctx, ns, "mu")
		if err != nil {
			return false, err
		}
		ps, err := pods(ctx, ns)
		if err != nil {
			return false, err
		}
		updated := 0
		for _, p := range ps {
			if p.Labels[appsv1.ControllerRevisionHashLabelKey] == s.Status.UpdateRevision {
				updated++
			}
		}
		return s.Status.ObservedGeneration == s.Generation && updated == 2 && len(ps) == 4 && int(s.Status.Replicas) == 4 && s.Status.UpdatedReplicas == 2, nil
	}, "two pods replaced")
	ps, _ := pods(context.Background(), ns)
	s, _ = getSet(context.Background(), ns, "mu")
	for _, n := range []string{"mu-0", "mu-1"} {
		if ps[n].Labels[appsv1.ControllerRevisionHashLabelKey] == s.Status.UpdateRevision {
			t.Errorf("%s replaced while two pods were unavailable", n)
		}
	}
	waitSteady(t, ns, "mu", 4)
}

func TestOnDelete(t *testing.T) {
	ns := namespace(t)
	set := newSet(ns, "od", 2, appsv1.OrderedReadyPodManagement)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	createSet(t, set)
	old := waitSteady(t, ns, "od", 2).Status.CurrentRevision
	updateSet(t, ns, "od", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "img:2" })
	var newRev string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := getSet(ctx, ns, "od")
		if err != nil {
			return false, err
		}
		newRev = s.Status.UpdateRevision
		return s.Status.ObservedGeneration == s.Generation && newRev != old, nil
	}, "update revision recorded")
	ps, _ := pods(context.Background(), ns)
	for n, p := range ps {
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] != old {
			t.Fatalf("%s updated without being deleted", n)
		}
	}
	uid := ps["od-1"].UID
	if err := kc.CoreV1().Pods(ns).Delete(context.Background(), "od-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ps, err := readyAll(ctx, ns)
		if err != nil {
			return false, err
		}
		p := ps["od-1"]
		return p != nil && p.UID != uid && p.Labels[appsv1.ControllerRevisionHashLabelKey] == newRev, nil
	}, "od-1 recreated at the update revision")
	ps, _ = pods(context.Background(), ns)
	if ps["od-0"].Labels[appsv1.ControllerRevisionHashLabelKey] != old {
		t.Errorf("od-0 updated without being deleted")
	}
}

func TestFailedPodIsReplaced(t *testing.T) {
	ns := namespace(t)
	createSet(t, newSet(ns, "fp", 1, appsv1.OrderedReadyPodManagement))
	waitSteady(t, ns, "fp", 1)
	p, err := kc.CoreV1().Pods(ns).Get(context.Background(), "fp-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodFailed
	if _, err := kc.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		np, err := kc.CoreV1().Pods(ns).Get(ctx, "fp-0", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return np.UID != p.UID, nil
	}, "failed pod replaced")
}

func TestMinReadySeconds(t *testing.T) {
	ns := namespace(t)
	set := newSet(ns, "mr", 2, appsv1.OrderedReadyPodManagement)
	set.Spec.MinReadySeconds = 5
	createSet(t, set)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ps, err := pods(ctx, ns)
		if err != nil || ps["mr-0"] == nil {
			return false, err
		}
		return true, markReady(ctx, ps["mr-0"])
	}, "mr-0 created and marked ready")
	// Ready but not yet available: the controller reports it and waits.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := getSet(ctx, ns, "mr")
		if err != nil {
			return false, err
		}
		return s.Status.ReadyReplicas == 1, nil
	}, "mr-0 counted ready")
	s, _ := getSet(context.Background(), ns, "mr")
	ps, _ := pods(context.Background(), ns)
	if s.Status.AvailableReplicas != 0 || ps["mr-1"] != nil {
		t.Fatalf("available %d, mr-1 exists %v before minReadySeconds passed", s.Status.AvailableReplicas, ps["mr-1"] != nil)
	}
	// Without further events, the controller comes back once it passes.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := getSet(ctx, ns, "mr")
		if err != nil {
			return false, err
		}
		ps, err := pods(ctx, ns)
		return err == nil && s.Status.AvailableReplicas == 1 && ps["mr-1"] != nil, err
	}, "mr-0 available and mr-1 created")
}
