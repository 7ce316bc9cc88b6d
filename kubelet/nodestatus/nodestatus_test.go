package nodestatus

import (
	"context"
	"net"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/internal/version"
)

const pollTimeout = 30 * time.Second

// start runs a Reporter for cfg until the test ends.
func start(t *testing.T, cfg Config, edit func(*Reporter)) {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		// Leave the shared server clean for -count=N.
		bg := context.Background()
		_ = client.CoreV1().Nodes().Delete(bg, cfg.NodeName, metav1.DeleteOptions{})
		_ = client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(bg, cfg.NodeName, metav1.DeleteOptions{})
	})
}

// waitNode polls until the node exists and ok accepts it.
func waitNode(t *testing.T, name string, ok func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	var node *corev1.Node
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, pollTimeout, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		node = n
		return ok(n), nil
	})
	if err != nil {
		t.Fatalf("node %s: %v (last seen: %+v)", name, err, node)
	}
	return node
}

func baseConfig(t *testing.T, name string) Config {
	return Config{
		Client:         client,
		NodeName:       name,
		Addresses:      []net.IP{hostIP(t)},
		KubeletPort:    10250,
		RuntimeVersion: func(context.Context) (string, error) { return "2.4.2", nil },
	}
}

func TestRegistrationCreatesNode(t *testing.T) {
	cfg := baseConfig(t, "reg-node")
	cfg.Labels = map[string]string{"example.com/pool": "a"}
	cfg.Taints = []corev1.Taint{{Key: "example.com/new", Effect: corev1.TaintEffectNoSchedule}}
	cfg.Capacity = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("50")}
	cfg.Reserved = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	start(t, cfg, nil)

	node := waitNode(t, "reg-node", func(n *corev1.Node) bool { return conditionIndex(n, corev1.NodeReady) >= 0 })

	wantLabels := map[string]string{
		"kubernetes.io/hostname":  "reg-node",
		"kubernetes.io/os":        goruntime.GOOS,
		"kubernetes.io/arch":      goruntime.GOARCH,
		"beta.kubernetes.io/os":   goruntime.GOOS,
		"beta.kubernetes.io/arch": goruntime.GOARCH,
		"example.com/pool":        "a",
	}
	for k, v := range wantLabels {
		if got := node.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if got := node.Annotations[controllerManagedAttachAnnotation]; got != "true" {
		t.Errorf("annotation %s = %q, want true", controllerManagedAttachAnnotation, got)
	}
	// TaintNodesByCondition admission adds node.kubernetes.io/not-ready too.
	hasTaint := false
	for _, taint := range node.Spec.Taints {
		hasTaint = hasTaint || taint.Key == "example.com/new"
	}
	if !hasTaint {
		t.Errorf("taints = %+v, want the registration taint", node.Spec.Taints)
	}
	wantAddrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.Addresses[0].String()}, {Type: corev1.NodeHostName, Address: "reg-node"}}
	if !equalAddrs(node.Status.Addresses, wantAddrs) {
		t.Errorf("addresses = %+v, want %+v", node.Status.Addresses, wantAddrs)
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage} {
		if _, ok := node.Status.Capacity[name]; !ok {
			t.Errorf("capacity has no %s: %v", name, node.Status.Capacity)
		}
	}
	if pods := node.Status.Capacity[corev1.ResourcePods]; pods.Value() != 50 {
		t.Errorf("pods capacity = %s, want the configured 50", pods.String())
	}
	capCPU, allocCPU := node.Status.Capacity[corev1.ResourceCPU], node.Status.Allocatable[corev1.ResourceCPU]
	if capCPU.MilliValue()-allocCPU.MilliValue() != 100 {
		t.Errorf("allocatable cpu %s, capacity %s: want 100m reserved", allocCPU.String(), capCPU.String())
	}
	info := node.Status.NodeInfo
	if info.ContainerRuntimeVersion != "containerd://2.4.2" || info.KubeletVersion != version.GitVersion() ||
		info.OperatingSystem != goruntime.GOOS || info.Architecture != goruntime.GOARCH || info.KernelVersion == "" || info.BootID == "" {
		t.Errorf("nodeInfo = %+v", info)
	}
	if got := node.Status.DaemonEndpoints.KubeletEndpoint.Port; got != 10250 {
		t.Errorf("kubelet endpoint port = %d, want 10250", got)
	}
	wantConds := map[corev1.NodeConditionType][3]string{
		corev1.NodeMemoryPressure: {"False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		corev1.NodeDiskPressure:   {"False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		corev1.NodePIDPressure:    {"False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		corev1.NodeReady:          {"True", "KubeletReady", "kubelet is posting ready status"},
	}
	if len(node.Status.Conditions) != len(wantConds) {
		t.Errorf("conditions = %+v, want %d", node.Status.Conditions, len(wantConds))
	}
	for _, c := range node.Status.Conditions {
		want := wantConds[c.Type]
		if string(c.Status) != want[0] || c.Reason != want[1] || c.Message != want[2] {
			t.Errorf("condition %s = %s/%s/%q, want %v", c.Type, c.Status, c.Reason, c.Message, want)
		}
		if c.LastHeartbeatTime.IsZero() || c.LastTransitionTime.IsZero() {
			t.Errorf("condition %s has no heartbeat or transition time", c.Type)
		}
	}
}

func TestReregistrationReconcilesExistingNode(t *testing.T) {
	const name = "rereg-node"
	// A node registered earlier, whose kubelet-owned labels drifted.
	_, err := client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"kubernetes.io/hostname": "old-name", "kubernetes.io/os": "plan9", "user/label": "kept"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	synced := make(chan error, 100)
	start(t, baseConfig(t, name), func(r *Reporter) { r.afterSync = func(_ bool, err error) { synced <- err } })
	select {
	case err := <-synced:
		if err != nil {
			t.Fatalf("first status sync: %v", err)
		}
	case <-time.After(pollTimeout):
		t.Fatal("no status sync after re-registration")
	}
	node := waitNode(t, name, func(n *corev1.Node) bool { return conditionIndex(n, corev1.NodeReady) >= 0 })
	for k, v := range map[string]string{
		"kubernetes.io/hostname": name, "kubernetes.io/os": goruntime.GOOS, "beta.kubernetes.io/arch": goruntime.GOARCH, "user/label": "kept",
	} {
		if got := node.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if node.Status.NodeInfo.ContainerRuntimeVersion != "containerd://2.4.2" {
		t.Errorf("status not reported after re-registration: %+v", node.Status.NodeInfo)
	}
}

func TestLeaseRenewed(t *testing.T) {
	const name = "lease-node"
	cfg := baseConfig(t, name)
	cfg.LeaseRenewInterval = 100 * time.Millisecond
	start(t, cfg, nil)
	node := waitNode(t, name, func(*corev1.Node) bool { return true })

	var first *coordinationv1.Lease
	leaseMatches := func(ok func(*coordinationv1.Lease) bool) *coordinationv1.Lease {
		var l *coordinationv1.Lease
		err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, pollTimeout, true, func(ctx context.Context) (bool, error) {
			got, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			l = got
			return ok(got), nil
		})
		if err != nil {
			t.Fatalf("lease %s: %v (last seen: %+v)", name, err, l)
		}
		return l
	}
	first = leaseMatches(func(l *coordinationv1.Lease) bool { return l.Spec.RenewTime != nil })
	if h := first.Spec.HolderIdentity; h == nil || *h != name {
		t.Errorf("holderIdentity = %v, want %s", h, name)
	}
	if d := first.Spec.LeaseDurationSeconds; d == nil || *d != 40 {
		t.Errorf("leaseDurationSeconds = %v, want 40", d)
	}
	want := metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}
	if len(first.OwnerReferences) != 1 || first.OwnerReferences[0] != want {
		t.Errorf("ownerReferences = %+v, want [%+v]", first.OwnerReferences, want)
	}
	leaseMatches(func(l *coordinationv1.Lease) bool { return l.Spec.RenewTime.After(first.Spec.RenewTime.Time) })
}

func TestStatusPatchedOnlyWhenChangedOrDue(t *testing.T) {
	const name = "status-node"
	clk := clocktesting.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	var memPressure atomic.Bool
	cfg := baseConfig(t, name)
	cfg.Clock = clk
	cfg.MemoryPressure = memPressure.Load
	type result struct {
		patched bool
		err     error
	}
	synced := make(chan result, 1)
	start(t, cfg, func(r *Reporter) {
		r.jitter = func() float64 { return 0.5 } // no report delay after a change
		r.afterSync = func(patched bool, err error) { synced <- result{patched, err} }
	})
	next := func() result {
		t.Helper()
		select {
		case res := <-synced:
			if res.err != nil {
				t.Fatalf("status sync: %v", res.err)
			}
			return res
		case <-time.After(pollTimeout):
			t.Fatal("no status sync")
		}
		return result{}
	}
	get := func() *corev1.Node {
		n, err := client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	condition := func(n *corev1.Node, c corev1.NodeConditionType) corev1.NodeCondition {
		i := conditionIndex(n, c)
		if i < 0 {
			t.Fatalf("node has no %s condition", c)
		}
		return n.Status.Conditions[i]
	}

	if !next().patched {
		t.Fatal("first sync after registration did not report status")
	}
	reported := get()

	steps := []struct {
		name        string
		step        time.Duration
		pressure    bool
		wantPatched bool
	}{
		{name: "nothing changed", step: 10 * time.Second},
		{name: "memory pressure", step: 10 * time.Second, pressure: true, wantPatched: true},
		{name: "unchanged under pressure", step: 10 * time.Second, pressure: true},
		{name: "report interval not yet passed", step: 4*time.Minute + 40*time.Second, pressure: true},
		{name: "report interval passed", step: 10 * time.Second, pressure: true, wantPatched: true},
		{name: "pressure gone", step: 10 * time.Second, wantPatched: true},
	}
	for _, s := range steps {
		memPressure.Store(s.pressure)
		clk.Step(s.step)
		res := next()
		cur := get()
		if res.patched != s.wantPatched {
			t.Fatalf("%s: patched = %v, want %v", s.name, res.patched, s.wantPatched)
		}
		if rvChanged := cur.ResourceVersion != reported.ResourceVersion; rvChanged != s.wantPatched {
			t.Fatalf("%s: resourceVersion changed = %v, want %v", s.name, rvChanged, s.wantPatched)
		}
		if !s.wantPatched {
			continue
		}
		now := clk.Now()
		ready := condition(cur, corev1.NodeReady)
		if !ready.LastHeartbeatTime.Time.Equal(now) {
			t.Errorf("%s: Ready heartbeat %v, want %v", s.name, ready.LastHeartbeatTime, now)
		}
		if !ready.LastTransitionTime.Time.Equal(condition(reported, corev1.NodeReady).LastTransitionTime.Time) {
			t.Errorf("%s: Ready transition moved from %v to %v", s.name, condition(reported, corev1.NodeReady).LastTransitionTime, ready.LastTransitionTime)
		}
		mem, before := condition(cur, corev1.NodeMemoryPressure), condition(reported, corev1.NodeMemoryPressure)
		wantStatus, wantReason := corev1.ConditionFalse, "KubeletHasSufficientMemory"
		if s.pressure {
			wantStatus, wantReason = corev1.ConditionTrue, "KubeletHasInsufficientMemory"
		}
		if mem.Status != wantStatus || mem.Reason != wantReason {
			t.Errorf("%s: MemoryPressure = %s/%s, want %s/%s", s.name, mem.Status, mem.Reason, wantStatus, wantReason)
		}
		if flipped := mem.Status != before.Status; flipped != mem.LastTransitionTime.Time.Equal(now) {
			t.Errorf("%s: MemoryPressure transition %v at %v (flipped %v)", s.name, mem.LastTransitionTime, now, flipped)
		}
		reported = cur
	}
}

func equalAddrs(a, b []corev1.NodeAddress) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
