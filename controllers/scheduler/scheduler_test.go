package scheduler_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/scheduler"
)

var (
	env   *controllertest.Env
	sched *scheduler.Scheduler
	// seen marks the tests that waited for earlier tests' nodes to go.
	seen = map[*testing.T]bool{}
)

func TestMain(m *testing.M) {
	klog.InitFlags(nil)
	flag.Parse()
	e, err := controllertest.Start(controllertest.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start env: %v\n", err)
		os.Exit(1)
	}
	env = e
	ctx, cancel := context.WithCancel(context.Background())
	sched, err = scheduler.New(scheduler.Config{RESTConfig: env.Config, LeaderElect: true, LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 200 * time.Millisecond})
	if err != nil {
		fmt.Fprintf(os.Stderr, "new scheduler: %v\n", err)
		os.Exit(1)
	}
	done := make(chan error, 1)
	go func() { done <- sched.Start(ctx) }()
	code := m.Run()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(os.Stderr, "scheduler: %v\n", err)
			code = 1
		}
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "scheduler did not stop within 30s")
		code = 1
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop env: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

type nodeSpec struct {
	name      string
	cpu, mem  string
	pods      int64
	labels    map[string]string
	taints    []v1.Taint
	cordoned  bool
	extraPods []*v1.Pod // pods bound to it at create
}

// mkNodes creates nodes (named after the test) and deletes them at the
// end; it returns the real names by spec name.
func mkNodes(t *testing.T, ns string, specs ...nodeSpec) map[string]string {
	t.Helper()
	ctx := context.Background()
	if !seen[t] {
		seen[t] = true
		controllertest.Eventually(t, func(context.Context) (bool, error) {
			return sched.CachedNodeCount() == 0, nil
		}, "earlier tests' nodes gone from the scheduler's cache")
	}
	names := map[string]string{}
	for _, sp := range specs {
		cpu, mem, pods := sp.cpu, sp.mem, sp.pods
		if cpu == "" {
			cpu = "4"
		}
		if mem == "" {
			mem = "8Gi"
		}
		if pods == 0 {
			pods = 110
		}
		name := ns + "-" + sp.name
		labels := map[string]string{v1.LabelHostname: name}
		for k, v := range sp.labels {
			labels[k] = v
		}
		alloc := v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem), v1.ResourcePods: *resource.NewQuantity(pods, resource.DecimalSI)}
		n := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec:       v1.NodeSpec{Taints: sp.taints, Unschedulable: sp.cordoned},
		}
		created, err := env.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create node: %v", err)
		}
		// Admission (TaintNodesByCondition) taints new nodes not-ready;
		// these stand for Ready nodes.
		created.Spec.Taints = sp.taints
		if created, err = env.Client.CoreV1().Nodes().Update(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update node taints: %v", err)
		}
		created.Status = v1.NodeStatus{Capacity: alloc, Allocatable: alloc, Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}}
		if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("node status: %v", err)
		}
		names[sp.name] = name
		controllertest.Eventually(t, func(context.Context) (bool, error) {
			n := sched.CachedNode(name)
			return n != nil && !n.Status.Allocatable.Pods().IsZero(), nil
		}, "node %s in the scheduler's cache", name)
		t.Cleanup(func() {
			_ = env.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
		for _, p := range sp.extraPods {
			p.Spec.NodeName = name
			createPod(t, ns, p)
		}
	}
	return names
}

func pod(name, cpu string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"name": name}},
		Spec: v1.PodSpec{
			Containers: []v1.Container{{Name: "c", Image: "busybox"}},
		},
	}
	if cpu != "" {
		p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
	}
	return p
}

func createPod(t *testing.T, ns string, p *v1.Pod) *v1.Pod {
	t.Helper()
	p = p.DeepCopy()
	p.Namespace = ns
	// No serviceaccount controller runs here; admission wants "default".
	sa := &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	if _, err := env.Client.CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create default service account: %v", err)
	}
	created, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return created
}

func waitBound(t *testing.T, ns, name string) string {
	t.Helper()
	var node string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = p.Spec.NodeName
		return node != "", nil
	}, "pod %s/%s bound", ns, name)
	return node
}

func waitUnschedulable(t *testing.T, ns, name, msg string) {
	t.Helper()
	var last string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" {
			return false, fmt.Errorf("bound to %s", p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled {
				last = c.Reason + ": " + c.Message
				return c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable && (msg == "" || c.Message == msg), nil
			}
		}
		return false, nil
	}, "pod %s unschedulable with %q (last %q)", name, msg, func() string { return last }())
}

func TestFilters(t *testing.T) {
	hostPortPod := func(name string) *v1.Pod {
		p := pod(name, "")
		p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		return p
	}
	tests := []struct {
		name  string
		nodes []nodeSpec
		pod   func(ns string, names map[string]string) *v1.Pod
		// want is the spec name of the only acceptable node, or "" for
		// unschedulable with wantMsg.
		want    string
		wantMsg string
	}{
		{
			name:  "NodeUnschedulable",
			nodes: []nodeSpec{{name: "a", cordoned: true}, {name: "b"}},
			pod:   func(string, map[string]string) *v1.Pod { return pod("p", "") },
			want:  "b",
		},
		{
			name:  "NodeName",
			nodes: []nodeSpec{{name: "a"}, {name: "b"}},
			pod: func(_ string, n map[string]string) *v1.Pod {
				p := pod("p", "")
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{n["a"]}}}}}}}}
				return p
			},
			want: "a",
		},
		{
			name:  "TaintToleration",
			nodes: []nodeSpec{{name: "a", taints: []v1.Taint{{Key: "k", Value: "v", Effect: v1.TaintEffectNoSchedule}}}, {name: "b", taints: []v1.Taint{{Key: "x", Effect: v1.TaintEffectNoExecute}}}},
			pod: func(string, map[string]string) *v1.Pod {
				p := pod("p", "")
				p.Spec.Tolerations = []v1.Toleration{{Key: "k", Operator: v1.TolerationOpEqual, Value: "v", Effect: v1.TaintEffectNoSchedule}}
				return p
			},
			want: "a",
		},
		{
			name:  "NodeAffinity nodeSelector",
			nodes: []nodeSpec{{name: "a", labels: map[string]string{"disk": "hdd"}}, {name: "b", labels: map[string]string{"disk": "ssd"}}},
			pod: func(string, map[string]string) *v1.Pod {
				p := pod("p", "")
				p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
				return p
			},
			want: "b",
		},
		{
			name:  "NodePorts",
			nodes: []nodeSpec{{name: "a", extraPods: []*v1.Pod{hostPortPod("existing")}}, {name: "b"}},
			pod:   func(string, map[string]string) *v1.Pod { return hostPortPod("p") },
			want:  "b",
		},
		{
			name:  "NodeResourcesFit init containers",
			nodes: []nodeSpec{{name: "a", cpu: "2"}, {name: "b", cpu: "4"}},
			pod: func(string, map[string]string) *v1.Pod {
				p := pod("p", "100m")
				p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("3")}}}}
				return p
			},
			want: "b",
		},
		{
			name:  "NodeResourcesFit sidecars add up",
			nodes: []nodeSpec{{name: "a", cpu: "2"}, {name: "b", cpu: "4"}},
			pod: func(string, map[string]string) *v1.Pod {
				p := pod("p", "1500m")
				p.Spec.InitContainers = []v1.Container{{Name: "side", Image: "busybox", RestartPolicy: ptr.To(v1.ContainerRestartPolicyAlways), Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}}}}
				return p
			},
			want: "b",
		},
		{
			name:  "NodeResourcesFit pod count",
			nodes: []nodeSpec{{name: "a", pods: 1, extraPods: []*v1.Pod{pod("existing", "")}}, {name: "b"}},
			pod:   func(string, map[string]string) *v1.Pod { return pod("p", "") },
			want:  "b",
		},
		{
			name: "InterPodAffinity required affinity",
			nodes: []nodeSpec{{name: "a"}, {name: "b", extraPods: []*v1.Pod{func() *v1.Pod {
				p := pod("db", "")
				p.Labels["app"] = "db"
				return p
			}()}}},
			pod: func(string, map[string]string) *v1.Pod {
				p := pod("p", "")
				p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: v1.LabelHostname}}}}
				return p
			},
			want: "b",
		},
		{
			name: "InterPodAffinity existing anti-affinity",
			nodes: []nodeSpec{{name: "a", extraPods: []*v1.Pod{func() *v1.Pod {
				p := pod("loner", "")
				p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, TopologyKey: v1.LabelHostname}}}}
				return p
			}()}}, {name: "b"}},
			pod: func(string, map[string]string) *v1.Pod {
				p := pod("p", "")
				p.Labels["app"] = "web"
				return p
			},
			want: "b",
		},
		{
			name: "PodTopologySpread DoNotSchedule",
			nodes: []nodeSpec{
				{name: "a", labels: map[string]string{v1.LabelTopologyZone: "z1"}, extraPods: []*v1.Pod{func() *v1.Pod { p := pod("w1", ""); p.Labels["app"] = "spread"; return p }()}},
				{name: "b", labels: map[string]string{v1.LabelTopologyZone: "z1"}},
				{name: "c", labels: map[string]string{v1.LabelTopologyZone: "z2"}},
			},
			pod: func(string, map[string]string) *v1.Pod {
				p := pod("p", "")
				p.Labels["app"] = "spread"
				p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}}}}
				return p
			},
			want: "c",
		},
		{
			name: "taints and resources message",
			nodes: []nodeSpec{
				{name: "a", taints: []v1.Taint{{Key: "k", Value: "v", Effect: v1.TaintEffectNoSchedule}}},
				{name: "b"}, {name: "c"},
			},
			pod:     func(string, map[string]string) *v1.Pod { return pod("p", "8") },
			wantMsg: "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		},
		{
			name:    "no victims message",
			nodes:   []nodeSpec{{name: "a", cpu: "2", extraPods: []*v1.Pod{pod("big", "1500m")}}, {name: "b", labels: map[string]string{"x": "y"}, cordoned: true}},
			pod:     func(string, map[string]string) *v1.Pod { return pod("p", "1") },
			wantMsg: "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			names := mkNodes(t, ns, tt.nodes...)
			p := createPod(t, ns, tt.pod(ns, names))
			if tt.want == "" {
				waitUnschedulable(t, ns, p.Name, tt.wantMsg)
				waitEvent(t, ns, p.Name, "FailedScheduling", tt.wantMsg)
				return
			}
			if got := waitBound(t, ns, p.Name); got != names[tt.want] {
				t.Fatalf("bound to %s, want %s", got, names[tt.want])
			}
		})
	}
}

func waitEvent(t *testing.T, ns, pod, reason, msg string) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", pod).String()})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == reason && (msg == "" || e.Message == msg) && e.Source.Component == v1.DefaultSchedulerName {
				return true, nil
			}
		}
		return false, nil
	}, "event %s %q on %s", reason, msg, pod)
}

func TestVolumeNodeAffinity(t *testing.T) {
	ns := env.Namespace(t)
	names := mkNodes(t, ns, nodeSpec{name: "a"}, nodeSpec{name: "b"})
	ctx := context.Background()
	pvName := ns + "-pv"
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/tmp"}},
			StorageClassName:              "local",
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &v1.ObjectReference{Namespace: ns, Name: "data"},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{names["b"]}}},
			}}}},
		},
	}
	if _, err := env.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pvName, metav1.DeleteOptions{})
	})
	pvc := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, StorageClassName: ptr.To("local"), VolumeName: pvName,
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := pod("p", "")
	p.Spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
	createPod(t, ns, p)
	if got := waitBound(t, ns, "p"); got != names["b"] {
		t.Fatalf("bound to %s, want %s", got, names["b"])
	}
	// A missing claim fails every node before filtering.
	q := pod("q", "")
	q.Spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "missing"}}}}
	createPod(t, ns, q)
	waitUnschedulable(t, ns, "q", `0/2 nodes are available: persistentvolumeclaim "missing" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.`)
}

func TestScores(t *testing.T) {
	tests := []struct {
		name  string
		nodes []nodeSpec
		pod   func() *v1.Pod
		want  string
	}{
		{
			name:  "LeastAllocated",
			nodes: []nodeSpec{{name: "a", extraPods: []*v1.Pod{pod("busy", "3")}}, {name: "b"}},
			pod:   func() *v1.Pod { return pod("p", "500m") },
			want:  "b",
		},
		{
			name:  "preferred node affinity",
			nodes: []nodeSpec{{name: "a"}, {name: "b", labels: map[string]string{"fast": "yes"}}},
			pod: func() *v1.Pod {
				p := pod("p", "")
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{Weight: 100, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "fast", Operator: v1.NodeSelectorOpExists}}}}}}}
				return p
			},
			want: "b",
		},
		{
			name:  "PreferNoSchedule",
			nodes: []nodeSpec{{name: "a", taints: []v1.Taint{{Key: "meh", Effect: v1.TaintEffectPreferNoSchedule}}}, {name: "b"}},
			pod:   func() *v1.Pod { return pod("p", "") },
			want:  "b",
		},
		{
			name: "preferred pod affinity",
			nodes: []nodeSpec{{name: "a"}, {name: "b", extraPods: []*v1.Pod{func() *v1.Pod {
				p := pod("cache", "")
				p.Labels["app"] = "cache"
				return p
			}()}}},
			pod: func() *v1.Pod {
				p := pod("p", "")
				p.Spec.Affinity = &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}, TopologyKey: v1.LabelHostname}}}}}
				return p
			},
			want: "b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			names := mkNodes(t, ns, tt.nodes...)
			// Each pod is placed several times to rule out a lucky tie.
			for i := 0; i < 3; i++ {
				p := tt.pod()
				p.Name = fmt.Sprintf("%s-%d", p.Name, i)
				createPod(t, ns, p)
				if got := waitBound(t, ns, p.Name); got != names[tt.want] {
					t.Fatalf("%s bound to %s, want %s", p.Name, got, names[tt.want])
				}
				if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestUnschedulableThenNodeAdded(t *testing.T) {
	ns := env.Namespace(t)
	mkNodes(t, ns, nodeSpec{name: "small", cpu: "1"})
	createPod(t, ns, pod("p", "2"))
	waitUnschedulable(t, ns, "p", "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
	names := mkNodes(t, ns, nodeSpec{name: "big", cpu: "4"})
	if got := waitBound(t, ns, "p"); got != names["big"] {
		t.Fatalf("bound to %s, want %s", got, names["big"])
	}
	waitEvent(t, ns, "p", "Scheduled", fmt.Sprintf("Successfully assigned %s/p to %s", ns, names["big"]))
}

func TestSchedulerNameAndGates(t *testing.T) {
	ns := env.Namespace(t)
	mkNodes(t, ns, nodeSpec{name: "a"})
	other := pod("other", "")
	other.Spec.SchedulerName = "someone-else"
	createPod(t, ns, other)
	gated := pod("gated", "")
	gated.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "example.com/wait"}}
	createPod(t, ns, gated)
	createPod(t, ns, pod("mine", ""))
	waitBound(t, ns, "mine")
	// Both were created before "mine", which is bound; the queue is FIFO
	// within a priority, so they would have been tried by now.
	for _, name := range []string{"other", "gated"} {
		p, err := env.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("%s bound to %s", name, p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Reason == v1.PodReasonUnschedulable {
				t.Fatalf("%s has a condition from this scheduler: %+v", name, c)
			}
		}
	}
	p, err := env.Client.CoreV1().Pods(ns).Get(context.Background(), "gated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.SchedulingGates = nil
	if _, err := env.Client.CoreV1().Pods(ns).Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBound(t, ns, "gated")
}

func priorityClass(t *testing.T, name string, value int32, policy v1.PreemptionPolicy) {
	t.Helper()
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, PreemptionPolicy: &policy}
	if _, err := env.Client.SchedulingV1().PriorityClasses().Create(context.Background(), pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func TestPreemption(t *testing.T) {
	ns := env.Namespace(t)
	priorityClass(t, "skiff-test-low", 100, v1.PreemptLowerPriority)
	priorityClass(t, "skiff-test-high", 1000, v1.PreemptLowerPriority)
	priorityClass(t, "skiff-test-high-never", 1000, v1.PreemptNever)
	low := pod("low", "3")
	low.Spec.PriorityClassName = "skiff-test-low"
	names := mkNodes(t, ns, nodeSpec{name: "a", extraPods: []*v1.Pod{low}})
	never := pod("never", "3")
	never.Spec.PriorityClassName = "skiff-test-high-never"
	createPod(t, ns, never)
	waitUnschedulable(t, ns, "never", "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.")

	high := pod("high", "3")
	high.Spec.PriorityClassName = "skiff-test-high"
	highPod := createPod(t, ns, high)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		l, err := env.Client.CoreV1().Pods(ns).Get(ctx, "low", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("victim gone before nomination was checked")
		}
		if err != nil {
			return false, err
		}
		h, err := env.Client.CoreV1().Pods(ns).Get(ctx, "high", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return l.DeletionTimestamp != nil && h.Status.NominatedNodeName == names["a"], nil
	}, "victim deleted and preemptor nominated")
	waitEvent(t, ns, "low", "Preempted", fmt.Sprintf("Preempted by pod %s on node %s", highPod.UID, names["a"]))
	// No kubelet: finish the victim's graceful deletion ourselves.
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), "low", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if got := waitBound(t, ns, "high"); got != names["a"] {
		t.Fatalf("preemptor bound to %s, want %s", got, names["a"])
	}
	// The earlier pod of equal priority that may not preempt did not take
	// the room freed for the nominated one.
	n, err := env.Client.CoreV1().Pods(ns).Get(context.Background(), "never", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Spec.NodeName != "" {
		t.Fatalf("pod with preemptionPolicy Never took the preempted room on %s", n.Spec.NodeName)
	}
}

func TestLeaderLease(t *testing.T) {
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		l, err := env.Client.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, "skiff-scheduler", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return l.Spec.HolderIdentity != nil && strings.Contains(*l.Spec.HolderIdentity, "_"), nil
	}, "scheduler holds its lease")
}
