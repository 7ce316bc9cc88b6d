package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/endpointslicemirroring"
)

// Pods turning ready and not ready move between addresses and
// notReadyAddresses, and between slice conditions; named target ports are
// resolved per pod; nodes and zones are recorded.
func TestReadinessAndNamedPorts(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	node := ns + "-node"
	createNode(t, ctx, node, "zone-a")
	sel := map[string]string{"app": "web"}
	createService(t, ctx, webService(ns, sel))
	createPod(t, ctx, ns, podSpec{name: "a", labels: sel, node: node, ready: true, ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}})
	createPod(t, ctx, ns, podSpec{name: "b", labels: sel, node: node, ready: false, ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 9090}}})
	// Not selected, and a pod without the named port.
	createPod(t, ctx, ns, podSpec{name: "other", labels: map[string]string{"app": "db"}, node: node, ready: true})

	steps := []struct {
		name                 string
		flip                 map[string]bool
		wantReady, wantNotRd []string
		wantSlice            map[string][2]bool // pod -> ready, serving
	}{
		{name: "initial", wantReady: []string{"a:8080"}, wantNotRd: []string{"b:9090"},
			wantSlice: map[string][2]bool{"a": {true, true}, "b": {false, false}}},
		{name: "swap", flip: map[string]bool{"a": false, "b": true}, wantReady: []string{"b:9090"}, wantNotRd: []string{"a:8080"},
			wantSlice: map[string][2]bool{"a": {false, false}, "b": {true, true}}},
		{name: "both ready", flip: map[string]bool{"a": true}, wantReady: []string{"a:8080", "b:9090"},
			wantSlice: map[string][2]bool{"a": {true, true}, "b": {true, true}}},
	}
	for _, step := range steps {
		for pod, ready := range step.flip {
			setReady(t, ctx, ns, pod, ready)
		}
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			ep, err := kc.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			ready, notReady := addrSummary(ep)
			if d := cmp.Diff(step.wantReady, ready) + cmp.Diff(step.wantNotRd, notReady); d != "" {
				return false, fmt.Errorf("endpoints (-want +got):\n%s", d)
			}
			// The first sync is triggered by the Service's creation. (Later
			// ones by Ready transitions, which the API stores to the second,
			// so this test's quick flips may not register as new.)
			if ts, ok := ep.Annotations[corev1.EndpointsLastChangeTriggerTime]; step.name == "initial" && !ok {
				return false, fmt.Errorf("no %s annotation", corev1.EndpointsLastChangeTriggerTime)
			} else if _, err := time.Parse(time.RFC3339Nano, ts); ok && err != nil {
				return false, err
			}
			if ep.Labels["tier"] != "front" {
				return false, fmt.Errorf("service labels not copied: %v", ep.Labels)
			}
			return true, nil
		}, "%s: endpoints", step.name)
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			slices, err := slicesOf(ctx, ns, "web")
			if err != nil {
				return false, err
			}
			got := summarize(slices)
			if len(got) != 2 {
				return false, fmt.Errorf("want 2 endpoints, got %+v", got)
			}
			ports := map[string]int32{"a": 8080, "b": 9090}
			for _, e := range got {
				want := step.wantSlice[e.Pod]
				if e.Ready != want[0] || e.Serving != want[1] || e.Terminating || e.Port != ports[e.Pod] || e.Node != node || e.Zone != "zone-a" {
					return false, fmt.Errorf("endpoint of %s: %+v, want ready/serving %v port %d", e.Pod, e, want, ports[e.Pod])
				}
			}
			for _, s := range slices {
				if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.OwnerReferences[0].Name != "web" {
					return false, fmt.Errorf("slice %s owners: %+v", s.Name, s.OwnerReferences)
				}
				if !strings.HasPrefix(s.Name, "web-") || s.AddressType != discovery.AddressTypeIPv4 {
					return false, fmt.Errorf("slice %s: type %s", s.Name, s.AddressType)
				}
			}
			return true, nil
		}, "%s: slices", step.name)
	}
}

// A terminating pod leaves the Endpoints but stays in the slice as
// terminating (serving, not ready); a terminal pod is dropped from both.
func TestTerminatingAndTerminalPods(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	sel := map[string]string{"app": "web"}
	svc := webService(ns, sel)
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	createService(t, ctx, svc)
	createPod(t, ctx, ns, podSpec{name: "stay", labels: sel, ready: true})
	createPod(t, ctx, ns, podSpec{name: "going", labels: sel, ready: true, finalizer: true})
	createPod(t, ctx, ns, podSpec{name: "done", labels: sel, ready: false, phase: corev1.PodSucceeded})

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		if got := summarize(slices); len(got) != 2 || got[0].Pod != "going" || got[1].Pod != "stay" {
			return false, fmt.Errorf("slices: %+v", got)
		}
		return true, nil
	}, "both running pods in slices")

	if err := kc.CoreV1().Pods(ns).Delete(ctx, "going", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ep, err := kc.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, notReady := addrSummary(ep)
		if d := cmp.Diff([]string{"stay:8080"}, ready); d != "" || len(notReady) != 0 {
			return false, fmt.Errorf("endpoints: ready %v notReady %v", ready, notReady)
		}
		return true, nil
	}, "terminating pod leaves Endpoints")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		got := summarize(slices)
		want := []endpointSummary{
			{Pod: "going", Ready: false, Serving: true, Terminating: true},
			{Pod: "stay", Ready: true, Serving: true},
		}
		for i := range got {
			got[i].Address, got[i].Port, got[i].AddressType = "", 0, ""
		}
		if d := cmp.Diff(want, got); d != "" {
			return false, fmt.Errorf("slices (-want +got):\n%s", d)
		}
		return true, nil
	}, "terminating pod is terminating in slice")
}

// A dual-stack Service gets one slice per address family; its Endpoints
// carry the primary family only.
func TestDualStack(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	sel := map[string]string{"app": "web"}
	svc := webService(ns, sel)
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	policy := corev1.IPFamilyPolicyRequireDualStack
	svc.Spec.IPFamilyPolicy = &policy
	createService(t, ctx, svc)
	createPod(t, ctx, ns, podSpec{name: "a", labels: sel, ready: true, dual: true})
	createPod(t, ctx, ns, podSpec{name: "b", labels: sel, ready: true, dual: true})

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		byType := map[discovery.AddressType]int{}
		for _, s := range slices {
			byType[s.AddressType] += len(s.Endpoints)
			for _, e := range s.Endpoints {
				if v6 := strings.Contains(e.Addresses[0], ":"); v6 != (s.AddressType == discovery.AddressTypeIPv6) {
					return false, fmt.Errorf("slice %s of %s holds %s", s.Name, s.AddressType, e.Addresses[0])
				}
			}
		}
		if len(slices) != 2 || byType[discovery.AddressTypeIPv4] != 2 || byType[discovery.AddressTypeIPv6] != 2 {
			return false, fmt.Errorf("%d slices, endpoints per type %v", len(slices), byType)
		}
		return true, nil
	}, "one slice per family")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ep, err := kc.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		n := 0
		for _, s := range ep.Subsets {
			for _, a := range s.Addresses {
				if strings.Contains(a.IP, ":") {
					return false, fmt.Errorf("IPv6 address %s in Endpoints of an IPv4-primary service", a.IP)
				}
				n++
			}
		}
		if n != 2 {
			return false, fmt.Errorf("%d addresses", n)
		}
		return true, nil
	}, "endpoints of the primary family")
}

// More than 100 endpoints are split into slices of at most 100; removing
// pods updates slices in place; a Service without pods keeps a placeholder.
func TestSplitAndPlaceholder(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	sel := map[string]string{"app": "many"}
	svc := webService(ns, sel)
	svc.Name = "many"
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	createService(t, ctx, svc)

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "many")
		if err != nil {
			return false, err
		}
		if len(slices) != 1 || len(slices[0].Endpoints) != 0 || len(slices[0].Ports) != 0 || slices[0].AddressType != discovery.AddressTypeIPv4 {
			return false, fmt.Errorf("slices: %+v", slices)
		}
		return true, nil
	}, "placeholder slice")

	const n = 130
	for i := 0; i < n; i++ {
		createPod(t, ctx, ns, podSpec{name: fmt.Sprintf("p%03d", i), labels: sel, ready: true})
	}
	var names []string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "many")
		if err != nil {
			return false, err
		}
		total := 0
		names = names[:0]
		for _, s := range slices {
			if len(s.Endpoints) > 100 || len(s.Endpoints) == 0 {
				return false, fmt.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
			}
			total += len(s.Endpoints)
			names = append(names, s.Name)
		}
		if len(slices) != 2 || total != n {
			return false, fmt.Errorf("%d slices, %d endpoints", len(slices), total)
		}
		return true, nil
	}, "%d endpoints in 2 slices", n)

	// Removing ten pods keeps the same two slices.
	for i := 0; i < 10; i++ {
		if err := kc.CoreV1().Pods(ns).Delete(ctx, fmt.Sprintf("p%03d", i), metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "many")
		if err != nil {
			return false, err
		}
		total := 0
		var now []string
		for _, s := range slices {
			total += len(s.Endpoints)
			now = append(now, s.Name)
		}
		if total != n-10 {
			return false, fmt.Errorf("%d endpoints", total)
		}
		if d := cmp.Diff(names, now); d != "" {
			return false, fmt.Errorf("slices replaced rather than updated (-before +after):\n%s", d)
		}
		return true, nil
	}, "slices updated in place")
}

// Headless Services record pod hostnames (when the pod's subdomain names
// the Service) and carry the headless label.
func TestHeadlessHostname(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	sel := map[string]string{"app": "db"}
	svc := webService(ns, sel)
	svc.Name = "db"
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(5432)
	createService(t, ctx, svc)
	createPod(t, ctx, ns, podSpec{name: "db-0", labels: sel, ready: true, hostname: "db-0", sub: "db"})

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ep, err := kc.CoreV1().Endpoints(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if _, ok := ep.Labels[corev1.IsHeadlessService]; !ok {
			return false, fmt.Errorf("no headless label: %v", ep.Labels)
		}
		if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].Hostname != "db-0" {
			return false, fmt.Errorf("subsets: %+v", ep.Subsets)
		}
		slices, err := slicesOf(ctx, ns, "db")
		if err != nil {
			return false, err
		}
		got := summarize(slices)
		if len(got) != 1 || got[0].Hostname != "db-0" {
			return false, fmt.Errorf("slices: %+v", got)
		}
		if _, ok := slices[0].Labels[corev1.IsHeadlessService]; !ok {
			return false, fmt.Errorf("slice labels: %v", slices[0].Labels)
		}
		return true, nil
	}, "hostname recorded")
}

// The Endpoints of a selector-less Service are mirrored into slices, kept
// in step, and removed with the Endpoints.
func TestMirroring(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	createService(t, ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}},
	})
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: ns, Labels: map[string]string{"team": "x"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{{IP: "192.0.2.1"}, {IP: "192.0.2.2"}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "192.0.2.3"}},
			Ports:             []corev1.EndpointPort{{Name: "https", Port: 8443, Protocol: corev1.ProtocolTCP}},
		}},
	}
	if _, err := kc.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mirrored := func(ctx context.Context) ([]discovery.EndpointSlice, error) {
		list, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
			LabelSelector: discovery.LabelServiceName + "=ext," + discovery.LabelManagedBy + "=" + endpointslicemirroring.ControllerName,
		})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	check := func(want map[string]bool) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			slices, err := mirrored(ctx)
			if err != nil {
				return false, err
			}
			if len(slices) != 1 {
				return false, fmt.Errorf("%d mirrored slices", len(slices))
			}
			s := slices[0]
			got := map[string]bool{}
			for _, e := range s.Endpoints {
				got[e.Addresses[0]] = *e.Conditions.Ready
			}
			if d := cmp.Diff(want, got); d != "" {
				return false, fmt.Errorf("endpoints (-want +got):\n%s", d)
			}
			if len(s.Ports) != 1 || *s.Ports[0].Port != 8443 || s.Labels["team"] != "x" || s.OwnerReferences[0].Kind != "Endpoints" {
				return false, fmt.Errorf("slice: %+v", s)
			}
			return true, nil
		}
	}
	controllertest.Eventually(t, check(map[string]bool{"192.0.2.1": true, "192.0.2.2": true, "192.0.2.3": false}), "mirrored")

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		cur, err := kc.CoreV1().Endpoints(ns).Get(ctx, "ext", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cur.Subsets[0].Addresses = cur.Subsets[0].Addresses[:1]
		cur.Subsets[0].NotReadyAddresses = nil
		_, err = kc.CoreV1().Endpoints(ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err == nil, err
	}, "update endpoints")
	controllertest.Eventually(t, check(map[string]bool{"192.0.2.1": true}), "mirror updated")

	if err := kc.CoreV1().Endpoints(ns).Delete(ctx, "ext", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := mirrored(ctx)
		return err == nil && len(slices) == 0, err
	}, "mirror removed")

	// The endpoints controller leaves selector-less Services alone.
	if _, err := kc.CoreV1().Endpoints(ns).Get(ctx, "ext", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("endpoints of selector-less service recreated: %v", err)
	}
}

// Deleted Endpoints and slices are restored; the Endpoints go with their
// Service.
func TestRestoreAndCleanup(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	sel := map[string]string{"app": "web"}
	svc := webService(ns, sel)
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	createService(t, ctx, svc)
	createPod(t, ctx, ns, podSpec{name: "a", labels: sel, ready: true})

	endpointsReady := func(ctx context.Context) (bool, error) {
		ep, err := kc.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, _ := addrSummary(ep)
		if d := cmp.Diff([]string{"a:8080"}, ready); d != "" {
			return false, fmt.Errorf("endpoints (-want +got):\n%s", d)
		}
		return true, nil
	}
	var sliceName string
	sliceReady := func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		if got := summarize(slices); len(slices) != 1 || len(got) != 1 || got[0].Pod != "a" {
			return false, fmt.Errorf("slices: %+v", got)
		}
		sliceName = slices[0].Name
		return true, nil
	}
	controllertest.Eventually(t, endpointsReady, "endpoints")
	controllertest.Eventually(t, sliceReady, "slice")

	if err := kc.CoreV1().Endpoints(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, endpointsReady, "endpoints restored")
	old := sliceName
	if err := kc.DiscoveryV1().EndpointSlices(ns).Delete(ctx, old, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		ok, err := sliceReady(ctx)
		if ok && sliceName == old {
			return false, fmt.Errorf("deleted slice %s still listed", old)
		}
		return ok, err
	}, "slice recreated")

	if err := kc.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		_, err := kc.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("endpoints still there (%v)", err)
	}, "endpoints removed with the service")
}

// With topology-mode Auto and ready nodes in two zones of equal CPU, each
// ready endpoint is hinted to its own zone, and the Service gets a
// TopologyAwareHintsEnabled event.
func TestTopologyAwareHints(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	for _, z := range []string{"z1", "z2"} {
		name := ns + "-" + z
		createNode(t, ctx, name, z)
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			n, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
			n.Status.Capacity = n.Status.Allocatable
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
			_, err = kc.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return err == nil, err
		}, "node %s ready", name)
	}
	sel := map[string]string{"app": "web"}
	svc := webService(ns, sel)
	svc.Annotations = map[string]string{corev1.AnnotationTopologyMode: "Auto"}
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	createService(t, ctx, svc)
	for i, z := range []string{"z1", "z1", "z2", "z2"} {
		createPod(t, ctx, ns, podSpec{name: fmt.Sprintf("p%d", i), labels: sel, node: ns + "-" + z, ready: true})
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		slices, err := slicesOf(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		n := 0
		for _, s := range slices {
			for _, e := range s.Endpoints {
				if e.Zone == nil || e.Hints == nil || len(e.Hints.ForZones) != 1 || e.Hints.ForZones[0].Name != *e.Zone {
					return false, fmt.Errorf("endpoint %s: zone %v hints %+v", e.Addresses[0], e.Zone, e.Hints)
				}
				n++
			}
		}
		if n != 4 {
			return false, fmt.Errorf("%d endpoints", n)
		}
		return true, nil
	}, "hinted endpoints")
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := kc.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=web,reason=TopologyAwareHintsEnabled"})
		if err != nil {
			return false, err
		}
		if len(evs.Items) == 0 {
			return false, fmt.Errorf("no event")
		}
		return true, nil
	}, "TopologyAwareHintsEnabled event")
}
