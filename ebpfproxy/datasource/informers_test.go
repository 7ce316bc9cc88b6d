package datasource

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

func testService(name, ip string, lbls map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: lbls, ResourceVersion: "1"},
		Spec: corev1.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
}

func testSlice(name, svc string, lbls map[string]string, addrs ...string) *discoveryv1.EndpointSlice {
	l := map[string]string{discoveryv1.LabelServiceName: svc}
	for k, v := range lbls {
		l[k] = v
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: l, ResourceVersion: "1"},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, a := range addrs {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}})
	}
	return es
}

// backendAddrs lists the addresses the tables hold for ns/name.
func backendAddrs(t *tables.Tables, name string) []string {
	var out []string
	for _, b := range t.Backends(tables.ServiceName{Namespace: "ns", Name: name}) {
		out = append(out, b.Addr.String())
	}
	slices.Sort(out)
	return out
}

func serviceNames(t *tables.Tables) []string {
	var out []string
	for _, s := range t.Services() {
		out = append(out, s.Name.String())
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	last := ""
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) {
			ok, got := cond()
			last = got
			return ok, nil
		})
	if err != nil {
		t.Fatalf("%s: still %s", what, last)
	}
}

func TestSource(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Objects present before the start come through the initial list, where
	// the label selectors apply.
	client := fake.NewClientset(
		testService("web", "10.250.0.1", nil),
		testService("other-proxy", "10.250.0.2", map[string]string{LabelServiceProxyName: "someone-else"}),
		testService("headless", corev1.ClusterIPNone, nil),
		testSlice("web-a", "web", nil, "10.244.0.1"),
		testSlice("web-b", "web", nil, "10.244.0.2", "10.244.0.3"),
		testSlice("headless-a", "headless", map[string]string{LabelHeadless: ""}, "10.244.9.9"),
	)
	tb := tables.New(tables.Node{})
	src := NewSource(client, tb, "node-a", 0)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	select {
	case <-src.Synced():
	case err := <-done:
		t.Fatalf("Run ended before sync: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not synced within 30s")
	}
	if !src.HasSynced() {
		t.Error("HasSynced is false after Synced closed")
	}

	// At sync, the tables hold all of the first list and nothing filtered.
	if got, want := serviceNames(tb), []string{"ns/headless", "ns/web"}; !slices.Equal(got, want) {
		t.Errorf("services after sync: %v, want %v (the other proxy's Service is not ours)", got, want)
	}
	if got, want := backendAddrs(tb, "web"), []string{"10.244.0.1:8080", "10.244.0.2:8080", "10.244.0.3:8080"}; !slices.Equal(got, want) {
		t.Errorf("backends of web merged from two slices: %v, want %v", got, want)
	}
	if got := backendAddrs(tb, "headless"); len(got) != 0 {
		t.Errorf("backends of a headless Service: %v, want none", got)
	}
	for _, lb := range tb.Desired().Services {
		if lb.Key.Service.Name != "web" {
			t.Errorf("desired holds %s; only web has a ClusterIP", lb.Key)
		}
	}

	svcs := client.CoreV1().Services("ns")
	slicesAPI := client.DiscoveryV1().EndpointSlices("ns")
	steps := []struct {
		name  string
		do    func() error
		check func() (bool, string)
	}{{
		name: "an endpoint removed from one slice leaves the other slice's",
		do: func() error {
			s := testSlice("web-b", "web", nil, "10.244.0.3")
			s.ResourceVersion = "2"
			_, err := slicesAPI.Update(ctx, s, metav1.UpdateOptions{})
			return err
		},
		check: func() (bool, string) {
			got := backendAddrs(tb, "web")
			return slices.Equal(got, []string{"10.244.0.1:8080", "10.244.0.3:8080"}), fmt.Sprint(got)
		},
	}, {
		name: "a slice relabelled to another Service moves there",
		do: func() error {
			s := testSlice("web-b", "api", nil, "10.244.0.3")
			s.ResourceVersion = "3"
			_, err := slicesAPI.Update(ctx, s, metav1.UpdateOptions{})
			return err
		},
		check: func() (bool, string) {
			web, api := backendAddrs(tb, "web"), backendAddrs(tb, "api")
			return slices.Equal(web, []string{"10.244.0.1:8080"}) && slices.Equal(api, []string{"10.244.0.3:8080"}),
				fmt.Sprintf("web %v api %v", web, api)
		},
	}, {
		name: "a slice with a bad address is skipped and drops what it gave before",
		do: func() error {
			s := testSlice("web-a", "web", nil, "fd00::1")
			s.ResourceVersion = "2"
			_, err := slicesAPI.Update(ctx, s, metav1.UpdateOptions{})
			return err
		},
		check: func() (bool, string) {
			got := backendAddrs(tb, "web")
			return len(got) == 0, fmt.Sprint(got)
		},
	}, {
		name: "a deleted slice takes its backends",
		do:   func() error { return slicesAPI.Delete(ctx, "web-b", metav1.DeleteOptions{}) },
		check: func() (bool, string) {
			got := backendAddrs(tb, "api")
			return len(got) == 0, fmt.Sprint(got)
		},
	}, {
		name: "a Service changed to another ClusterIP is replaced",
		do: func() error {
			s := testService("web", "10.250.0.9", nil)
			s.ResourceVersion = "2"
			_, err := svcs.Update(ctx, s, metav1.UpdateOptions{})
			return err
		},
		check: func() (bool, string) {
			for _, s := range tb.Services() {
				if s.Name.Name == "web" {
					return slices.Equal(s.ClusterIPs, []netip.Addr{netip.MustParseAddr("10.250.0.9")}), fmt.Sprint(s.ClusterIPs)
				}
			}
			return false, "web missing"
		},
	}, {
		name: "a deleted Service leaves the tables",
		do:   func() error { return svcs.Delete(ctx, "web", metav1.DeleteOptions{}) },
		check: func() (bool, string) {
			got := serviceNames(tb)
			return slices.Equal(got, []string{"ns/headless"}), fmt.Sprint(got)
		},
	}}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		eventually(t, st.name, st.check)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run did not return after cancel")
	}
}

func TestNodeFromKube(t *testing.T) {
	tests := []struct {
		name string
		node *corev1.Node
		want tables.Node
	}{{
		name: "zone label and internal and external IPs",
		node: &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelTopologyZone: "z1"}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeHostName, Address: "n1"},
				{Type: corev1.NodeInternalIP, Address: "192.168.1.5"},
				{Type: corev1.NodeExternalIP, Address: "203.0.113.5"},
				{Type: corev1.NodeInternalIP, Address: "::ffff:192.168.1.5"},
				{Type: corev1.NodeInternalIP, Address: "fd00::5"},
			}},
		},
		want: tables.Node{Name: "n1", Zone: "z1", Addresses: []netip.Addr{
			netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("fd00::5")}},
	}, {
		name: "no labels or addresses",
		node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}},
		want: tables.Node{Name: "n2"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NodeFromKube(tt.node)
			if got.Name != tt.want.Name || got.Zone != tt.want.Zone || !slices.Equal(got.Addresses, tt.want.Addresses) {
				t.Errorf("NodeFromKube = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSourceAllNodes checks that WatchAllNodes keeps every Node's addresses
// in the tables (and the proxy's own Node as before) through adds, updates
// and deletes.
func TestSourceAllNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	node := func(name string, ips ...string) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		for _, ip := range ips {
			n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
		}
		return n
	}
	client := fake.NewClientset(node("node-a", "192.0.2.1"), node("node-b", "192.0.2.2"))
	tb := tables.New(tables.Node{})
	src := NewSource(client, tb, "node-a", 0)
	src.WatchAllNodes()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	addrs := func(want ...string) func() (bool, string) {
		return func() (bool, string) {
			var got []string
			for _, a := range tb.ClusterNodeAddresses() {
				got = append(got, a.String())
			}
			return slices.Equal(got, want), fmt.Sprint(got)
		}
	}
	nodes := client.CoreV1().Nodes()
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"initial list", func() error { return nil }, []string{"192.0.2.1", "192.0.2.2"}},
		{"node added", func() error {
			_, err := nodes.Create(ctx, node("node-c", "192.0.2.3", "2001:db8::3"), metav1.CreateOptions{})
			return err
		}, []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::3"}},
		{"address changed", func() error {
			_, err := nodes.Update(ctx, node("node-b", "192.0.2.22"), metav1.UpdateOptions{})
			return err
		}, []string{"192.0.2.1", "192.0.2.3", "192.0.2.22", "2001:db8::3"}},
		{"node deleted", func() error { return nodes.Delete(ctx, "node-c", metav1.DeleteOptions{}) },
			[]string{"192.0.2.1", "192.0.2.22"}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		eventually(t, st.name, addrs(st.want...))
	}
	if got := tb.Desired().Node; got.Name != "node-a" || !slices.Equal(got.Addresses, []netip.Addr{netip.MustParseAddr("192.0.2.1")}) {
		t.Errorf("own node %+v, want node-a with 192.0.2.1", got)
	}
}
