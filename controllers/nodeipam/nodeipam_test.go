package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, c, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseClusterCIDRs(t *testing.T) {
	tests := []struct {
		name      string
		cidrs     []string
		mask      int
		wantMasks []int
		wantCount []int
		wantErr   bool
	}{
		{"ipv4 default /24", []string{"10.0.0.0/16"}, 0, []int{24}, []int{256}, false},
		{"ipv4 explicit /26", []string{"10.0.0.0/24"}, 26, []int{26}, []int{4}, false},
		{"ipv6 default /64", []string{"fd00::/56"}, 0, []int{64}, []int{256}, false},
		{"dual stack: mask fits v4 only", []string{"10.0.0.0/16", "fd00::/56"}, 24, []int{24, 64}, []int{256, 256}, false},
		{"range smaller than the default subnet", []string{"10.0.0.0/25"}, 16, nil, nil, true},
		{"too many subnets", []string{"10.0.0.0/8"}, 28, nil, nil, true},
		{"two of one family", []string{"10.0.0.0/16", "10.1.0.0/16"}, 0, nil, nil, true},
		{"three ranges", []string{"10.0.0.0/16", "fd00::/56", "fd01::/56"}, 0, nil, nil, true},
		{"garbage", []string{"nope"}, 0, nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sets, err := ParseClusterCIDRs(tc.cidrs, tc.mask)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			for i, s := range sets {
				if s.mask != tc.wantMasks[i] || s.count != tc.wantCount[i] {
					t.Errorf("range %d: /%d x %d, want /%d x %d", i, s.mask, s.count, tc.wantMasks[i], tc.wantCount[i])
				}
			}
		})
	}
}

func TestCIDRSet(t *testing.T) {
	tests := []struct {
		cluster string
		mask    int
		want    []string
	}{
		{"10.1.0.0/22", 24, []string{"10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"}},
		{"10.1.0.7/23", 24, []string{"10.1.0.0/24", "10.1.1.0/24"}},
		{"fd00:1::/62", 64, []string{"fd00:1::/64", "fd00:1:0:1::/64", "fd00:1:0:2::/64", "fd00:1:0:3::/64"}},
		{"10.0.0.0/30", 32, []string{"10.0.0.0/32", "10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32"}},
	}
	for _, tc := range tests {
		t.Run(tc.cluster, func(t *testing.T) {
			s, err := newCIDRSet(mustCIDR(t, tc.cluster), tc.mask)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for range tc.want {
				c, err := s.allocateNext()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, c.String())
				if i, err := s.index(c); err != nil || s.subnet(i).String() != c.String() {
					t.Errorf("index(%s) = %d, %v", c, i, err)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("allocated %v, want %v", got, tc.want)
			}
			if _, err := s.allocateNext(); !errors.Is(err, ErrFull) {
				t.Errorf("allocate from a full set: %v, want ErrFull", err)
			}
			if err := s.release(mustCIDR(t, tc.want[1])); err != nil {
				t.Fatal(err)
			}
			c, err := s.allocateNext()
			if err != nil || c.String() != tc.want[1] {
				t.Errorf("after release got %v, %v; want %s", c, err, tc.want[1])
			}
		})
	}
}

func TestCIDRSetOccupy(t *testing.T) {
	s, err := newCIDRSet(mustCIDR(t, "10.2.0.0/23"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.occupy(mustCIDR(t, "10.2.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if err := s.occupy(mustCIDR(t, "10.2.0.0/24")); err != nil {
		t.Fatal("occupying twice must be idempotent:", err)
	}
	for _, bad := range []string{"10.3.0.0/24", "10.2.0.0/25", "fd00::/64"} {
		if err := s.occupy(mustCIDR(t, bad)); err == nil {
			t.Errorf("occupy(%s) succeeded", bad)
		}
	}
	c, err := s.allocateNext()
	if err != nil || c.String() != "10.2.1.0/24" {
		t.Fatalf("allocate = %v, %v; want 10.2.1.0/24", c, err)
	}
	if _, err := s.allocateNext(); !errors.Is(err, ErrFull) {
		t.Fatalf("want ErrFull, got %v", err)
	}
}

func node(name string, cidrs ...string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Spec.PodCIDRs = cidrs
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
	}
	return n
}

// TestAllocatorBookkeeping drives the allocator's in-memory state as
// reconciles would: rebuild from nodes, allocate, release, retry waiting.
func TestAllocatorBookkeeping(t *testing.T) {
	sets, err := ParseClusterCIDRs([]string{"10.9.0.0/23", "fd00:9::/63"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &allocator{sets: sets, byNode: map[string][]string{}, waiting: map[string]bool{}, retry: make(chan event.GenericEvent, 4)}
	ctx := context.Background()
	existing := node("old", "10.9.1.0/24", "fd00:9:0:1::/64")
	r.occupyNode(ctx, &existing)
	foreign := node("foreign", "192.168.0.0/24")
	r.occupyNode(ctx, &foreign)

	got, err := r.allocate()
	if err != nil || fmt.Sprint(got) != "[10.9.0.0/24 fd00:9::/64]" {
		t.Fatalf("allocate = %v, %v", got, err)
	}
	r.byNode["new"] = got
	if _, err := r.allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("third allocation: %v, want ErrFull", err)
	}
	r.waiting["waiter"] = true
	r.releaseNode(ctx, "old")
	select {
	case ev := <-r.retry:
		if ev.Object.GetName() != "waiter" {
			t.Errorf("retried %s, want waiter", ev.Object.GetName())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiting node not retried after a release")
	}
	again, err := r.allocate()
	if err != nil || fmt.Sprint(again) != "[10.9.1.0/24 fd00:9:0:1::/64]" {
		t.Fatalf("allocate after release = %v, %v", again, err)
	}
}
