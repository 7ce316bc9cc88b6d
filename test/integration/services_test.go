package integration

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
)

func newService(name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func TestKubernetesServiceIsMaintained(t *testing.T) {
	ctx := context.Background()
	client := server.Client()
	var svc *corev1.Service
	poll(t, func() bool {
		var err error
		svc, err = client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		return err == nil
	})
	if svc.Spec.ClusterIP != "10.0.0.1" || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("kubernetes service = %s %+v, want 10.0.0.1:443", svc.Spec.ClusterIP, svc.Spec.Ports)
	}
	// The test server advertises 127.0.0.1, which cannot be an endpoint.
	if _, err := client.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("EndpointSlice for a loopback API server: err = %v, want NotFound", err)
	}
	if svc.Spec.Ports[0].TargetPort.IntValue() != int(serverPort(t)) {
		t.Errorf("targetPort %v, want the server's port %d", svc.Spec.Ports[0].TargetPort, serverPort(t))
	}
	if _, err := client.NetworkingV1().IPAddresses().Get(ctx, "10.0.0.1", metav1.GetOptions{}); err != nil {
		t.Errorf("IPAddress of the kubernetes service: %v", err)
	}
}

func TestServiceAllocation(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	client := server.Client()
	services := client.CoreV1().Services(ns)
	_, cidr, _ := net.ParseCIDR("10.0.0.0/24")

	svc, err := services.Create(ctx, newService("web", corev1.ServiceTypeNodePort), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create NodePort service: %v", err)
	}
	ip := net.ParseIP(svc.Spec.ClusterIP)
	if ip == nil || !cidr.Contains(ip) || len(svc.Spec.ClusterIPs) != 1 || svc.Spec.ClusterIPs[0] != svc.Spec.ClusterIP {
		t.Fatalf("clusterIP %q clusterIPs %v, want one IP of %s", svc.Spec.ClusterIP, svc.Spec.ClusterIPs, cidr)
	}
	if np := svc.Spec.Ports[0].NodePort; np < 30000 || np > 32767 {
		t.Fatalf("nodePort %d outside 30000-32767", np)
	}
	if len(svc.Spec.IPFamilies) != 1 || svc.Spec.IPFamilies[0] != corev1.IPv4Protocol || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
		t.Errorf("families %v policy %v, want [IPv4] SingleStack", svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy)
	}
	addr, err := client.NetworkingV1().IPAddresses().Get(ctx, svc.Spec.ClusterIP, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("IPAddress for %s: %v", svc.Spec.ClusterIP, err)
	}
	if ref := addr.Spec.ParentRef; ref == nil || ref.Resource != "services" || ref.Namespace != ns || ref.Name != "web" {
		t.Errorf("IPAddress parentRef = %+v", addr.Spec.ParentRef)
	}

	// Asking for a taken IP or node port is Invalid, naming the field.
	taken := newService("taken", corev1.ServiceTypeNodePort)
	taken.Spec.ClusterIP = svc.Spec.ClusterIP
	_, err = services.Create(ctx, taken, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !contains(err.Error(), "spec.clusterIPs") || !contains(err.Error(), "provided IP is already allocated") {
		t.Errorf("taken clusterIP: err = %v", err)
	}
	taken.Spec.ClusterIP = ""
	taken.Spec.Ports[0].NodePort = svc.Spec.Ports[0].NodePort
	_, err = services.Create(ctx, taken, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !contains(err.Error(), "spec.ports[0].nodePort") || !contains(err.Error(), "provided port is already allocated") {
		t.Errorf("taken nodePort: err = %v", err)
	}
	outside := newService("outside", corev1.ServiceTypeClusterIP)
	outside.Spec.ClusterIP = "10.9.9.9"
	_, err = services.Create(ctx, outside, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !contains(err.Error(), "the provided network does not match the current range") {
		t.Errorf("clusterIP outside the range: err = %v", err)
	}

	// Re-applying without the allocated values keeps them.
	update := svc.DeepCopy()
	update.Spec.ClusterIP, update.Spec.ClusterIPs = "", nil
	update.Spec.Ports[0].NodePort = 0
	updated, err := services.Update(ctx, update, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update without allocated values: %v", err)
	}
	if updated.Spec.ClusterIP != svc.Spec.ClusterIP || updated.Spec.Ports[0].NodePort != svc.Spec.Ports[0].NodePort {
		t.Errorf("update changed allocations: %s/%d, want %s/%d", updated.Spec.ClusterIP, updated.Spec.Ports[0].NodePort, svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort)
	}

	// Delete releases both: the same IP and port can be taken again.
	if err := services.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := newService("again", corev1.ServiceTypeNodePort)
	again.Spec.ClusterIP = svc.Spec.ClusterIP
	again.Spec.Ports[0].NodePort = svc.Spec.Ports[0].NodePort
	if _, err := services.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatalf("reuse released IP and port: %v", err)
	}
}

// TestConcurrentServiceCreates checks 200 concurrent creates get distinct
// ClusterIPs and NodePorts.
func TestConcurrentServiceCreates(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	services := server.Client().CoreV1().Services(ns)
	const n = 200
	var wg sync.WaitGroup
	results := make([]*corev1.Service, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = services.Create(ctx, newService(fmt.Sprintf("s%d", i), corev1.ServiceTypeNodePort), metav1.CreateOptions{})
		}(i)
	}
	wg.Wait()
	ips, ports := map[string]int{}, map[int32]int{}
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("create s%d: %v", i, errs[i])
		}
		if j, dup := ips[results[i].Spec.ClusterIP]; dup {
			t.Errorf("s%d and s%d share ClusterIP %s", i, j, results[i].Spec.ClusterIP)
		}
		ips[results[i].Spec.ClusterIP] = i
		if j, dup := ports[results[i].Spec.Ports[0].NodePort]; dup {
			t.Errorf("s%d and s%d share NodePort %d", i, j, results[i].Spec.Ports[0].NodePort)
		}
		ports[results[i].Spec.Ports[0].NodePort] = i
	}
	// Clean up so other tests have the range.
	for i := 0; i < n; i++ {
		if err := services.Delete(ctx, fmt.Sprintf("s%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// poll waits, up to ten seconds, for cond to hold.
func poll(t *testing.T, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatalf("condition not met: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// serverPort is the test server's port.
func serverPort(t *testing.T) int32 {
	u, err := url.Parse(server.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return int32(p)
}
