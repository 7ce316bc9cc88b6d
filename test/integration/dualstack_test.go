package integration

import (
	"context"
	"net"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	apiserver "github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// TestDualStackServices runs a server with an IPv4 and an IPv6 service
// range and checks the families, policies and IPs Services get.
func TestDualStackServices(t *testing.T) {
	s, err := testserver.Start(testserver.Options{Customize: func(o *apiserver.Options) {
		o.ServiceClusterIPRange = "10.96.0.0/24,fd00:96::/112"
	}})
	if err != nil {
		t.Fatalf("start dual-stack server: %v", err)
	}
	defer s.Stop()
	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(s.Config)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ds"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	services := client.CoreV1().Services("ds")
	_, v4, _ := net.ParseCIDR("10.96.0.0/24")
	_, v6, _ := net.ParseCIDR("fd00:96::/112")
	policy := func(p corev1.IPFamilyPolicy) *corev1.IPFamilyPolicy { return &p }
	tests := []struct {
		name     string
		policy   *corev1.IPFamilyPolicy
		families []corev1.IPFamily
		want     []*net.IPNet
		wantErr  bool
	}{
		{name: "default single stack", want: []*net.IPNet{v4}},
		{name: "prefer dual stack", policy: policy(corev1.IPFamilyPolicyPreferDualStack), want: []*net.IPNet{v4, v6}},
		{name: "require dual stack, IPv6 first", policy: policy(corev1.IPFamilyPolicyRequireDualStack), families: []corev1.IPFamily{corev1.IPv6Protocol}, want: []*net.IPNet{v6, v4}},
		{name: "single IPv6", families: []corev1.IPFamily{corev1.IPv6Protocol}, want: []*net.IPNet{v6}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService("svc-"+string(rune('a'+i)), corev1.ServiceTypeClusterIP)
			svc.Spec.IPFamilyPolicy, svc.Spec.IPFamilies = tt.policy, tt.families
			got, err := services.Create(ctx, svc, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if len(got.Spec.ClusterIPs) != len(tt.want) || got.Spec.ClusterIP != got.Spec.ClusterIPs[0] {
				t.Fatalf("clusterIPs %v (clusterIP %s), want one in each of %v", got.Spec.ClusterIPs, got.Spec.ClusterIP, tt.want)
			}
			for j, cidr := range tt.want {
				if ip := net.ParseIP(got.Spec.ClusterIPs[j]); ip == nil || !cidr.Contains(ip) {
					t.Errorf("clusterIPs[%d] = %s, want one of %s", j, got.Spec.ClusterIPs[j], cidr)
				}
			}
			if len(got.Spec.IPFamilies) != len(tt.want) {
				t.Errorf("ipFamilies = %v", got.Spec.IPFamilies)
			}
		})
	}
	// A family the cluster lacks is refused, naming the field.
	single, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Stop()
	sc := kubernetes.NewForConfigOrDie(single.Config)
	svc := newService("v6", corev1.ServiceTypeClusterIP)
	svc.Spec.IPFamilyPolicy = policy(corev1.IPFamilyPolicyRequireDualStack)
	_, err = sc.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !contains(err.Error(), "spec.ipFamilyPolicy") || !contains(err.Error(), "not configured for dual-stack") {
		t.Errorf("RequireDualStack on a single-stack cluster: err = %v", err)
	}
}
