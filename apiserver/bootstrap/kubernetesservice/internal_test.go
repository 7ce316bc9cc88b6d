package kubernetesservice

import (
	"net"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestLeaseName(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"10.0.0.1", "kube-apiserver-endpoint-10.0.0.1"},
		{"::ffff:10.0.0.1", "kube-apiserver-endpoint-10.0.0.1"},
		{"fd00::", "kube-apiserver-endpoint-fd00-0000-0000-0000-0000-0000-0000-0000"},
		{"2001:db8::1", "kube-apiserver-endpoint-2001-0db8-0000-0000-0000-0000-0000-0001"},
	}
	for _, tc := range tests {
		if got := LeaseName(net.ParseIP(tc.ip)); got != tc.want {
			t.Errorf("LeaseName(%s) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

// TestAlive checks expiry as a reader observes it, whatever the writer's
// clock says.
func TestAlive(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	lease := func(rv string, renew time.Time) *coordinationv1.Lease {
		m := metav1.NewMicroTime(renew)
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "l", ResourceVersion: rv},
			Spec:       coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To(int32(15)), RenewTime: &m},
		}
	}
	type step struct {
		after time.Duration // since start
		rv    string
		renew time.Duration // renewTime, since start
		alive bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fresh on first sight", []step{{after: 0, rv: "1", renew: -5 * time.Second, alive: true}}},
		{"stale on first sight", []step{{after: 0, rv: "1", renew: -20 * time.Second, alive: false}}},
		{"unchanged expires after the TTL", []step{
			{after: 0, rv: "1", renew: 0, alive: true},
			{after: 14 * time.Second, rv: "1", renew: 0, alive: true},
			{after: 15 * time.Second, rv: "1", renew: 0, alive: false},
		}},
		{"renewals keep it", []step{
			{after: 0, rv: "1", renew: 0, alive: true},
			{after: 10 * time.Second, rv: "2", renew: 10 * time.Second, alive: true},
			{after: 20 * time.Second, rv: "3", renew: 20 * time.Second, alive: true},
			{after: 34 * time.Second, rv: "3", renew: 20 * time.Second, alive: true},
		}},
		{"writer's clock an hour ahead, then silent", []step{
			{after: 0, rv: "1", renew: time.Hour, alive: true},
			{after: 16 * time.Second, rv: "1", renew: time.Hour, alive: false},
		}},
		{"writer's clock an hour behind, renewing", []step{
			{after: 0, rv: "1", renew: -time.Hour, alive: false},
			{after: 10 * time.Second, rv: "2", renew: -time.Hour + 10*time.Second, alive: true},
			{after: 20 * time.Second, rv: "3", renew: -time.Hour + 20*time.Second, alive: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(nil, Config{Address: net.ParseIP("10.0.0.1")})
			for i, s := range tc.steps {
				if got := r.alive(lease(s.rv, start.Add(s.renew)), start.Add(s.after)); got != s.alive {
					t.Errorf("step %d: alive = %v, want %v", i, got, s.alive)
				}
			}
		})
	}
}
