package nodelifecycle

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/node/topology"
)

const (
	// Upstream's defaults: --node-eviction-rate, --secondary-node-eviction-rate,
	// --large-cluster-size-threshold, --unhealthy-zone-threshold.
	evictionQPS            = 0.1
	secondaryEvictionQPS   = 0.01
	largeClusterThreshold  = 50
	unhealthyZoneThreshold = 0.55

	// labelExcludeDisruption keeps a node out of zone disruption counts.
	labelExcludeDisruption = "node.kubernetes.io/exclude-disruption"
)

// zoneState is a zone's health, as upstream's ZoneState.
type zoneState string

const (
	zoneNormal            zoneState = "Normal"
	zoneFullDisruption    zoneState = "FullDisruption"
	zonePartialDisruption zoneState = "PartialDisruption"
)

// zoneHealth counts a zone's nodes.
type zoneHealth struct{ ready, notReady int }

// state classifies a zone as upstream's ComputeZoneState does.
func (z zoneHealth) state() zoneState {
	switch {
	case z.ready == 0 && z.notReady > 0:
		return zoneFullDisruption
	case z.notReady > 2 && float64(z.notReady)/float64(z.notReady+z.ready) >= unhealthyZoneThreshold:
		return zonePartialDisruption
	default:
		return zoneNormal
	}
}

// zoneStates tallies nodes with a Ready condition by zone.
func zoneStates(nodes []corev1.Node) map[string]zoneHealth {
	out := map[string]zoneHealth{}
	for i := range nodes {
		n := &nodes[i]
		if _, ok := n.Labels[labelExcludeDisruption]; ok {
			continue
		}
		if nodeCondition(&n.Status, corev1.NodeReady) == nil {
			// Not yet monitored, as upstream.
			continue
		}
		z := out[topology.GetZoneKey(n)]
		if readyStatus(n) == corev1.ConditionTrue {
			z.ready++
		} else {
			z.notReady++
		}
		out[topology.GetZoneKey(n)] = z
	}
	return out
}

// allFullyDisrupted reports upstream's "master disruption mode": every zone
// has nodes and none of them Ready.
func allFullyDisrupted(zones map[string]zoneHealth) bool {
	if len(zones) == 0 {
		return false
	}
	for _, z := range zones {
		if z.state() != zoneFullDisruption {
			return false
		}
	}
	return true
}

// zoneQPS is the NoExecute tainting rate of a zone in state s with size
// nodes (upstream's HealthyQPSFunc / ReducedQPSFunc).
func zoneQPS(s zoneState, size int) float64 {
	if s == zonePartialDisruption {
		if size > largeClusterThreshold {
			return secondaryEvictionQPS
		}
		return 0
	}
	return evictionQPS
}

// bucket is a token bucket with burst 1.
type bucket struct {
	qps    float64
	tokens float64
	last   time.Time
}

// limiters rate-limit adding NoExecute taints, per zone.
type limiters struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

// take consumes a token of zone at qps if one is there; otherwise it says
// how long until one is (0 with ok=false and wait=0 means never at qps 0).
func (l *limiters) take(zone string, qps float64, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[zone]
	if b == nil {
		b = &bucket{qps: qps, tokens: 1, last: now}
		l.buckets[zone] = b
	}
	if b.qps != qps {
		b.qps = qps
	}
	if qps <= 0 {
		// A stopped zone adds no taints, not even with a token left.
		b.last = now
		return false, 0
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens += elapsed.Seconds() * b.qps
		if b.tokens > 1 {
			b.tokens = 1
		}
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.qps * float64(time.Second))
}

// refund gives back a token taken for a taint that did not go on.
func (l *limiters) refund(zone string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[zone]; b != nil && b.tokens < 1 {
		b.tokens++
		if b.tokens > 1 {
			b.tokens = 1
		}
	}
}
