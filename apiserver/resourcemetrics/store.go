package resourcemetrics

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"
)

// freshContainerMinAge is metrics-server's freshContainerMinMetricsResolution:
// a container younger than one resolution but at least this old is given a
// synthetic previous point (zero CPU at its start), so that new pods have
// metrics after one scrape; a younger one waits for a second scrape.
const freshContainerMinAge = 10 * time.Second

// store keeps the last two points of every node and container of the nodes
// scraped in the last cycle. A node whose scrape failed, or that is no
// longer Ready, is forgotten with its pods, as metrics-server forgets what
// is missing from its last batch.
type store struct {
	resolution time.Duration
	clock      clock.PassiveClock

	mu    sync.RWMutex
	nodes map[string]*nodeSamples
}

// nodeSamples are the points of one node and of the pods its kubelet runs.
type nodeSamples struct {
	last, prev *point
	pods       map[types.NamespacedName]podSamples
}

// podSamples are the last and previous points of a pod's containers; prev
// lacks the containers that have only one usable point.
type podSamples struct {
	last, prev map[string]point
}

func newStore(resolution time.Duration, c clock.PassiveClock) *store {
	return &store{resolution: resolution, clock: c, nodes: map[string]*nodeSamples{}}
}

// update replaces the store's contents with one cycle's samples, keyed by
// node name, moving each stored point to prev when the new one is newer.
func (s *store) update(batch map[string]*sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nodes := make(map[string]*nodeSamples, len(batch))
	for name, smp := range batch {
		old := s.nodes[name]
		if old == nil {
			old = &nodeSamples{}
		}
		n := &nodeSamples{pods: make(map[types.NamespacedName]podSamples, len(smp.pods))}
		if smp.node != nil {
			n.last = smp.node
			n.prev = previous(*smp.node, old.last, old.prev)
		}
		for key, containers := range smp.pods {
			n.pods[key] = s.updatePod(containers, old.pods[key])
		}
		nodes[name] = n
	}
	s.nodes = nodes
}

// previous returns the point to keep before newPoint: the stored last one
// when newPoint is newer, else the stored previous one when it is still
// older than newPoint, else none.
func previous(newPoint point, last, prev *point) *point {
	switch {
	case last == nil:
		return nil
	case newPoint.timestamp.After(last.timestamp):
		return last
	case prev != nil && prev.timestamp.Before(newPoint.timestamp):
		return prev
	}
	return nil
}

// updatePod applies metrics-server's container rules: a fresh container
// gets a synthetic previous point at its start; one that restarted since
// the stored point (start time after it) starts over; otherwise the stored
// points move back as for nodes.
func (s *store) updatePod(containers map[string]point, old podSamples) podSamples {
	p := podSamples{last: containers, prev: map[string]point{}}
	for name, newPoint := range containers {
		age := newPoint.timestamp.Sub(newPoint.startTime)
		if newPoint.startTime.Before(newPoint.timestamp) && age < s.resolution && age >= freshContainerMinAge {
			start := newPoint
			start.timestamp, start.cpu = newPoint.startTime, 0
			p.prev[name] = start
			continue
		}
		last, ok := old.last[name]
		if !ok || !newPoint.startTime.Before(last.timestamp) {
			continue
		}
		var prev *point
		if pp, ok := old.prev[name]; ok {
			prev = &pp
		}
		if keep := previous(newPoint, &last, prev); keep != nil {
			p.prev[name] = *keep
		}
	}
	return p
}

// usage is metrics-server's resourceUsage: the CPU rate between prev and
// last in nanocores and last's working set, over the window between them.
func usage(last, prev point) (corev1.ResourceList, time.Duration, error) {
	if last.cpu < prev.cpu {
		return nil, 0, fmt.Errorf("cumulative CPU usage decreased from %d to %d", prev.cpu, last.cpu)
	}
	window := last.timestamp.Sub(prev.timestamp)
	if window <= 0 {
		return nil, 0, fmt.Errorf("samples not in time order: %s then %s", prev.timestamp, last.timestamp)
	}
	nanocores := float64(last.cpu-prev.cpu) / window.Seconds()
	return corev1.ResourceList{
		corev1.ResourceCPU:    quantity(uint64(nanocores), resource.DecimalSI, -9),
		corev1.ResourceMemory: quantity(last.memory, resource.BinarySI, 0),
	}, window, nil
}

// quantity is val × 10^scale, losing a digit when val does not fit an int64.
func quantity(val uint64, format resource.Format, scale resource.Scale) resource.Quantity {
	if val > math.MaxInt64 {
		val, scale = val/10, scale+1
	}
	q := *resource.NewScaledQuantity(int64(val), scale)
	q.Format = format
	return q
}

// NodeMetrics returns the usage of node, or false when the node does not
// have two usable samples.
func (s *store) NodeMetrics(node *corev1.Node) (metricsv1beta1.NodeMetrics, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.nodes[node.Name]
	if n == nil || n.last == nil || n.prev == nil {
		return metricsv1beta1.NodeMetrics{}, false
	}
	rl, window, err := usage(*n.last, *n.prev)
	if err != nil {
		klog.Background().V(1).Info("Skipping node usage metric", "node", klog.KObj(node), "err", err)
		return metricsv1beta1.NodeMetrics{}, false
	}
	return metricsv1beta1.NodeMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, Labels: node.Labels, CreationTimestamp: metav1.NewTime(s.clock.Now())},
		Timestamp:  metav1.NewTime(n.last.timestamp),
		Window:     metav1.Duration{Duration: window},
		Usage:      rl,
	}, true
}

// PodMetrics returns the usage of pod's containers, as reported by the
// kubelet of its node, or false unless every container it reports has two
// usable samples. The timestamp and window are the earliest container's.
func (s *store) PodMetrics(pod *corev1.Pod) (metricsv1beta1.PodMetrics, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.nodes[pod.Spec.NodeName]
	if n == nil {
		return metricsv1beta1.PodMetrics{}, false
	}
	p, ok := n.pods[types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}]
	if !ok || len(p.prev) == 0 {
		return metricsv1beta1.PodMetrics{}, false
	}
	names := make([]string, 0, len(p.last))
	for name := range p.last {
		if _, ok := p.prev[name]; !ok {
			return metricsv1beta1.PodMetrics{}, false
		}
		names = append(names, name)
	}
	sort.Strings(names)
	out := metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels, CreationTimestamp: metav1.NewTime(s.clock.Now())},
		Containers: make([]metricsv1beta1.ContainerMetrics, 0, len(names)),
	}
	for _, name := range names {
		last := p.last[name]
		rl, window, err := usage(last, p.prev[name])
		if err != nil {
			klog.Background().V(1).Info("Skipping container usage metric", "pod", klog.KObj(pod), "container", name, "err", err)
			continue
		}
		out.Containers = append(out.Containers, metricsv1beta1.ContainerMetrics{Name: name, Usage: rl})
		if out.Timestamp.IsZero() || out.Timestamp.After(last.timestamp) {
			out.Timestamp = metav1.NewTime(last.timestamp)
			out.Window = metav1.Duration{Duration: window}
		}
	}
	return out, true
}
