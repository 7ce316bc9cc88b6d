package servicecidrs

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
)

// defaultRange is the test server's --service-cluster-ip-range: six
// usable addresses, the first the kubernetes Service's.
const defaultRange = "10.96.0.0/29"

var env *controllertest.Env

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{
		Controllers: []controllers.Descriptor{NewDescriptor(time.Second)},
		Server: testserver.Options{Customize: func(o *server.Options) {
			o.ServiceClusterIPRange = defaultRange
		}},
	})
}

func cidrObj(name string, cidrs ...string) networkingv1.ServiceCIDR {
	return networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: cidrs}}
}

func ipObj(ip string) networkingv1.IPAddress {
	family := "IPv4"
	if strings.Contains(ip, ":") {
		family = "IPv6"
	}
	return networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: ip, Labels: map[string]string{
		networkingv1.LabelIPAddressFamily: family, networkingv1.LabelManagedBy: managedBy}}}
}

func TestBlocker(t *testing.T) {
	tests := []struct {
		name   string
		cidr   networkingv1.ServiceCIDR
		others []networkingv1.ServiceCIDR
		ips    []string
		want   string
	}{
		{name: "no IPs", cidr: cidrObj("a", "10.1.0.0/24")},
		{name: "IP in it", cidr: cidrObj("a", "10.1.0.0/24"), ips: []string{"10.2.0.1", "10.1.0.7"}, want: "10.1.0.7"},
		{name: "IP elsewhere only", cidr: cidrObj("a", "10.1.0.0/24"), ips: []string{"10.2.0.1"}},
		{name: "contained in a larger one", cidr: cidrObj("a", "10.1.0.0/24"), others: []networkingv1.ServiceCIDR{cidrObj("b", "10.0.0.0/8")}, ips: []string{"10.1.0.7"}},
		{name: "same range twice", cidr: cidrObj("a", "10.1.0.0/24"), others: []networkingv1.ServiceCIDR{cidrObj("b", "10.1.0.0/24")}, ips: []string{"10.1.0.7"}},
		{name: "smaller one holds the IP", cidr: cidrObj("a", "10.1.0.0/24"), others: []networkingv1.ServiceCIDR{cidrObj("b", "10.1.0.0/28")}, ips: []string{"10.1.0.7"}},
		{name: "smaller one does not hold the IP", cidr: cidrObj("a", "10.1.0.0/24"), others: []networkingv1.ServiceCIDR{cidrObj("b", "10.1.0.0/28")}, ips: []string{"10.1.0.7", "10.1.0.200"}, want: "10.1.0.200"},
		{name: "dual-stack, only the IPv6 half parented", cidr: cidrObj("a", "10.1.0.0/24", "fd00::/112"), others: []networkingv1.ServiceCIDR{cidrObj("b", "fd00::/64")}, ips: []string{"fd00::5", "10.1.0.9"}, want: "10.1.0.9"},
		{name: "dual-stack IPv6 IP", cidr: cidrObj("a", "10.1.0.0/24", "fd00::/112"), ips: []string{"fd00::5"}, want: "fd00::5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ips []networkingv1.IPAddress
			for _, ip := range tc.ips {
				ips = append(ips, ipObj(ip))
			}
			all := append([]networkingv1.ServiceCIDR{tc.cidr}, tc.others...)
			if got := Blocker(&tc.cidr, all, ips); got != tc.want {
				t.Errorf("Blocker = %q, want %q", got, tc.want)
			}
		})
	}
}

func eventually(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, controllertest.DefaultTimeout, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func readyIs(c *networkingv1.ServiceCIDR, status metav1.ConditionStatus, reason string) bool {
	cond := apimeta.FindStatusCondition(c.Status.Conditions, networkingv1.ServiceCIDRConditionReady)
	return cond != nil && cond.Status == status && cond.Reason == reason
}

func clusterIPService(name, ip string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: ip, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
}

// TestServiceCIDRLifecycle drives a user ServiceCIDR through its life:
// Ready with the finalizer, IPs from it by request and once the default
// range is full, refused when it holds nothing, deletion held while a
// Service's IP is in it and finished once that Service is gone.
func TestServiceCIDRLifecycle(t *testing.T) {
	ctx := context.Background()
	cidrs := env.Client.NetworkingV1().ServiceCIDRs()
	ns := env.Namespace(t)
	services := env.Client.CoreV1().Services(ns)

	eventually(t, "default ServiceCIDR gets the finalizer and Ready", func(ctx context.Context) (bool, error) {
		c, err := cidrs.Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return slices.Contains(c.Finalizers, Finalizer) && readyIs(c, metav1.ConditionTrue, ""), nil
	})

	extra := cidrObj("extra", "10.97.0.0/28")
	if _, err := cidrs.Create(ctx, &extra, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ServiceCIDR: %v", err)
	}
	eventually(t, "user ServiceCIDR gets the finalizer and Ready", func(ctx context.Context) (bool, error) {
		c, err := cidrs.Get(ctx, "extra", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond := apimeta.FindStatusCondition(c.Status.Conditions, networkingv1.ServiceCIDRConditionReady)
		return slices.Contains(c.Finalizers, Finalizer) && cond != nil && cond.Status == metav1.ConditionTrue && cond.Message == ReadyMessage, nil
	})

	// A requested IP in the user range.
	pinned, err := services.Create(ctx, clusterIPService("pinned", "10.97.0.5"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Service with an IP of the user ServiceCIDR: %v", err)
	}
	addr, err := env.Client.NetworkingV1().IPAddresses().Get(ctx, "10.97.0.5", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("IPAddress of the pinned Service: %v", err)
	}
	if ref := addr.Spec.ParentRef; ref == nil || ref.Resource != "services" || ref.Namespace != ns || ref.Name != pinned.Name {
		t.Errorf("IPAddress parentRef = %+v, want services %s/%s", ref, ns, pinned.Name)
	}

	// A requested IP in no ServiceCIDR.
	_, err = services.Create(ctx, clusterIPService("nowhere", "10.98.0.5"), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "failed to allocate IP 10.98.0.5: the provided network does not match the current range") {
		t.Errorf("Service with an IP in no ServiceCIDR: err = %v, want Invalid 'does not match the current range'", err)
	}

	// Fill the default range: the kubernetes Service holds one of its six
	// addresses (other tests' Services may hold more), then the next
	// Service comes from the user range.
	def := netip.MustParsePrefix(defaultRange)
	fromExtra := ""
	for i := 0; i < 8 && fromExtra == ""; i++ {
		svc, err := services.Create(ctx, clusterIPService("fill-"+string(rune('a'+i)), ""), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create Service %d: %v", i, err)
		}
		ip := netip.MustParseAddr(svc.Spec.ClusterIP)
		switch {
		case def.Contains(ip):
		case netip.MustParsePrefix("10.97.0.0/28").Contains(ip):
			fromExtra = svc.Name
		default:
			t.Fatalf("Service %s got %s, in neither range", svc.Name, ip)
		}
	}
	if fromExtra == "" {
		t.Fatalf("no Service got an IP of the user ServiceCIDR once the default range was full")
	}

	// Deleting the user ServiceCIDR is held while its IPs are in use.
	if err := cidrs.Delete(ctx, "extra", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete ServiceCIDR: %v", err)
	}
	eventually(t, "ServiceCIDR being deleted is Ready=False Terminating", func(ctx context.Context) (bool, error) {
		c, err := cidrs.Get(ctx, "extra", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond := apimeta.FindStatusCondition(c.Status.Conditions, networkingv1.ServiceCIDRConditionReady)
		return c.DeletionTimestamp != nil && readyIs(c, metav1.ConditionFalse, networkingv1.ServiceCIDRReasonTerminating) && cond.Message == TerminatingMessage, nil
	})
	// Nor does it hand out IPs any more.
	_, err = services.Create(ctx, clusterIPService("late", "10.97.0.9"), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("Service with an IP of a ServiceCIDR being deleted: err = %v, want Invalid", err)
	}
	_, err = services.Create(ctx, clusterIPService("late", ""), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "range is full") {
		t.Errorf("Service once the only other range is being deleted: err = %v, want Invalid 'range is full'", err)
	}

	for _, name := range []string{pinned.Name, fromExtra} {
		if err := services.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete Service %s: %v", name, err)
		}
	}
	eventually(t, "ServiceCIDR is gone once no IP needs it", func(ctx context.Context) (bool, error) {
		_, err := cidrs.Get(ctx, "extra", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
