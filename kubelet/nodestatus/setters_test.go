package nodestatus

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestReadyCondition(t *testing.T) {
	full := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi"),
		corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"),
	}
	tests := []struct {
		name       string
		runtimeErr error
		networkErr error
		capacity   corev1.ResourceList
		status     corev1.ConditionStatus
		reason     string
		message    string
	}{
		{name: "ready", capacity: full, status: corev1.ConditionTrue, reason: "KubeletReady", message: "kubelet is posting ready status"},
		{name: "runtime down", runtimeErr: errors.New("dial"), capacity: full, status: corev1.ConditionFalse, reason: "KubeletNotReady", message: "container runtime is down"},
		{name: "network and capacity", networkErr: errors.New("cni plugin not initialized"), capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")},
			status: corev1.ConditionFalse, reason: "KubeletNotReady",
			message: "[container runtime network not ready: cni plugin not initialized, missing node capacity for resources: cpu, memory, ephemeral-storage]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(Config{
				Client: client, NodeName: "n",
				RuntimeVersion: func(context.Context) (string, error) { return "1", tt.runtimeErr },
				NetworkReady:   func(context.Context) error { return tt.networkErr },
				Clock:          clocktesting.NewFakeClock(time.Unix(1000, 0)),
			})
			if err != nil {
				t.Fatal(err)
			}
			node := &corev1.Node{Status: corev1.NodeStatus{Capacity: tt.capacity}}
			if err := r.setReadyCondition(context.Background(), node); err != nil {
				t.Fatal(err)
			}
			c := node.Status.Conditions[0]
			if c.Status != tt.status || c.Reason != tt.reason || c.Message != tt.message {
				t.Errorf("Ready = %s/%s/%q, want %s/%s/%q", c.Status, c.Reason, c.Message, tt.status, tt.reason, tt.message)
			}
		})
	}
}

func TestStatusChangedIgnoresHeartbeats(t *testing.T) {
	base := corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Unix(1, 0)},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: metav1.Unix(1, 0)},
	}}
	tests := []struct {
		name string
		edit func(*corev1.NodeStatus)
		want bool
	}{
		{name: "heartbeat only", edit: func(s *corev1.NodeStatus) { s.Conditions[0].LastHeartbeatTime = metav1.Unix(99, 0) }},
		{name: "reordered", edit: func(s *corev1.NodeStatus) { s.Conditions[0], s.Conditions[1] = s.Conditions[1], s.Conditions[0] }},
		{name: "condition status", edit: func(s *corev1.NodeStatus) { s.Conditions[1].Status = corev1.ConditionTrue }, want: true},
		{name: "condition added", edit: func(s *corev1.NodeStatus) {
			s.Conditions = append(s.Conditions, corev1.NodeCondition{Type: corev1.NodePIDPressure})
		}, want: true},
		{name: "runtime version", edit: func(s *corev1.NodeStatus) { s.NodeInfo.ContainerRuntimeVersion = "containerd://2" }, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := base.DeepCopy()
			tt.edit(cur)
			if got := statusChanged(&base, cur); got != tt.want {
				t.Errorf("statusChanged = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	accept := func(net.IP) error { return nil }
	tests := []struct {
		name     string
		ips      []net.IP
		hostname string
		validate func(net.IP) error
		want     []corev1.NodeAddress
		wantErr  bool
	}{
		{name: "single", ips: []net.IP{net.ParseIP("10.0.0.5")}, validate: accept,
			want: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}, {Type: corev1.NodeHostName, Address: "n"}}},
		{name: "dual stack", ips: []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("fd00::5")}, validate: accept,
			want: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}, {Type: corev1.NodeInternalIP, Address: "fd00::5"}, {Type: corev1.NodeHostName, Address: "n"}}},
		{name: "hostname is an IP", hostname: "10.1.2.3", validate: accept,
			want: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.1.2.3"}, {Type: corev1.NodeHostName, Address: "10.1.2.3"}}},
		{name: "not on the host", ips: []net.IP{net.ParseIP("203.0.113.9")}, validate: validateHostIP, wantErr: true},
		{name: "loopback", ips: []net.IP{net.ParseIP("127.0.0.1")}, validate: validateHostIP, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(Config{Client: client, NodeName: "n", Hostname: tt.hostname, Addresses: tt.ips,
				RuntimeVersion: func(context.Context) (string, error) { return "1", nil }})
			if err != nil {
				t.Fatal(err)
			}
			r.validateIP = tt.validate
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
			err = r.setAddresses(context.Background(), node)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !equalAddrs(node.Status.Addresses, tt.want) {
				t.Errorf("addresses = %+v, want %+v", node.Status.Addresses, tt.want)
			}
			// Addresses reports what was last set (the serving
			// certificate's SANs), nothing after a failure.
			if got := r.Addresses(); !tt.wantErr && !equalAddrs(got, tt.want) || tt.wantErr && got != nil {
				t.Errorf("Addresses() = %+v after setAddresses", got)
			}
		})
	}
}
