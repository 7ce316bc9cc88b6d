package integration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestServiceDryRun checks that server-side dry runs of Service creates
// and updates answer the allocation a real write would make (upstream's
// dummy values for dynamic ones) and reserve nothing: the same IP and
// ports can be taken by a real write afterwards, and no IPAddress is left.
func TestServiceDryRun(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	client := server.Client()
	services := client.CoreV1().Services(ns)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	tests := []struct {
		name          string
		clusterIP     string
		nodePort      int32
		wantClusterIP string
		wantNodePort  int32
	}{
		{name: "dynamic", wantClusterIP: "10.0.0.0", wantNodePort: 32769},
		{name: "requested", clusterIP: "10.0.0.9", nodePort: 31234, wantClusterIP: "10.0.0.9", wantNodePort: 31234},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := newService("dry-"+tc.name, corev1.ServiceTypeNodePort)
			svc.Spec.ClusterIP = tc.clusterIP
			svc.Spec.Ports[0].NodePort = tc.nodePort
			got, err := services.Create(ctx, svc, dryRun)
			if err != nil {
				t.Fatalf("dry-run create: %v", err)
			}
			if got.Spec.ClusterIP != tc.wantClusterIP || len(got.Spec.ClusterIPs) != 1 || got.Spec.ClusterIPs[0] != tc.wantClusterIP {
				t.Errorf("dry-run clusterIP %q %v, want %q", got.Spec.ClusterIP, got.Spec.ClusterIPs, tc.wantClusterIP)
			}
			if got.Spec.Ports[0].NodePort != tc.wantNodePort {
				t.Errorf("dry-run nodePort %d, want %d", got.Spec.Ports[0].NodePort, tc.wantNodePort)
			}
			if _, err := services.Get(ctx, svc.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("dry-run Service stored: err = %v", err)
			}
			if _, err := client.NetworkingV1().IPAddresses().Get(ctx, tc.wantClusterIP, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("dry run left IPAddress %s: err = %v", tc.wantClusterIP, err)
			}
		})
	}

	// A real create takes what the dry run answered; then a dry run asking
	// for the same is refused as the real one would be.
	real := newService("real", corev1.ServiceTypeNodePort)
	real.Spec.ClusterIP, real.Spec.Ports[0].NodePort = "10.0.0.9", 31234
	if _, err := services.Create(ctx, real, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create with the IP and port a dry run answered: %v", err)
	}
	again := newService("again", corev1.ServiceTypeNodePort)
	again.Spec.Ports[0].NodePort = 31234
	if _, err := services.Create(ctx, again, dryRun); !apierrors.IsInvalid(err) || !contains(err.Error(), "provided port is already allocated") {
		t.Errorf("dry run with a taken nodePort: err = %v, want Invalid 'provided port is already allocated'", err)
	}
	outside := newService("outside", corev1.ServiceTypeClusterIP)
	outside.Spec.ClusterIP = "10.200.0.9"
	if _, err := services.Create(ctx, outside, dryRun); !apierrors.IsInvalid(err) {
		t.Errorf("dry run with a clusterIP in no range: err = %v, want Invalid", err)
	}

	// Dry-run update: ClusterIP to LoadBalancer with Local traffic policy
	// needs node ports and a health-check port; the answer has them, the
	// stored object does not change, and nothing is held.
	plain, err := services.Create(ctx, newService("plain", corev1.ServiceTypeClusterIP), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	upd := plain.DeepCopy()
	upd.Spec.Type = corev1.ServiceTypeLoadBalancer
	upd.Spec.AllocateLoadBalancerNodePorts = ptr.To(true)
	upd.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	upd.Spec.Ports[0].NodePort = 31235
	got, err := services.Update(ctx, upd, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatalf("dry-run update: %v", err)
	}
	if got.Spec.Ports[0].NodePort != 31235 || got.Spec.HealthCheckNodePort != 32769 || got.Spec.ClusterIP != plain.Spec.ClusterIP {
		t.Errorf("dry-run update: nodePort %d healthCheckNodePort %d clusterIP %s, want 31235 32769 %s",
			got.Spec.Ports[0].NodePort, got.Spec.HealthCheckNodePort, got.Spec.ClusterIP, plain.Spec.ClusterIP)
	}
	stored, err := services.Get(ctx, plain.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Spec.Type != corev1.ServiceTypeClusterIP || stored.ResourceVersion != plain.ResourceVersion {
		t.Errorf("dry-run update stored: type %s rv %s (was %s)", stored.Spec.Type, stored.ResourceVersion, plain.ResourceVersion)
	}
	taker := newService("taker", corev1.ServiceTypeNodePort)
	taker.Spec.Ports[0].NodePort = 31235
	if _, err := services.Create(ctx, taker, metav1.CreateOptions{}); err != nil {
		t.Errorf("the port a dry-run update answered is held: %v", err)
	}

	// Dry-run delete releases nothing.
	if err := services.Delete(ctx, real.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("dry-run delete: %v", err)
	}
	if _, err := client.NetworkingV1().IPAddresses().Get(ctx, "10.0.0.9", metav1.GetOptions{}); err != nil {
		t.Errorf("dry-run delete released the IPAddress: %v", err)
	}
	for _, name := range []string{real.Name, plain.Name, taker.Name} {
		if err := services.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	}
	poll(t, func() bool {
		_, err := client.NetworkingV1().IPAddresses().Get(ctx, "10.0.0.9", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}
