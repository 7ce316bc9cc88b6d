package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-dev/skiff/kubelet/runtime"
	"github.com/skiff-dev/skiff/kubelet/stats"
)

// statsCollector samples node, pod and container cgroups.
type statsCollector struct {
	nodeName string
	pods     PodSource
	rt       Runtime
	boot     time.Time

	mu   sync.Mutex
	rate stats.Rate
	seen map[string]bool // rate keys sampled in the current pass
}

func newStatsCollector(nodeName string, pods PodSource, rt Runtime) *statsCollector {
	return &statsCollector{nodeName: nodeName, pods: pods, rt: rt, boot: bootTime()}
}

func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(sec, 0)
		}
	}
	return time.Time{}
}

// housekeep samples every interval so rates (usageNanoCores) are ready.
func (c *statsCollector) housekeep(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := c.summary(ctx); err != nil {
			klog.FromContext(ctx).V(3).Info("Sample stats", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// containerSample is one running container's usage.
type containerSample struct {
	name  string
	start time.Time
	usage *stats.Usage
}

func (c *statsCollector) cpuStats(key string, u *stats.Usage) *statsapi.CPUStats {
	nanos := u.CPUUsageNanos
	out := &statsapi.CPUStats{Time: metav1.NewTime(u.Time), UsageCoreNanoSeconds: &nanos}
	c.seen[key] = true
	if rate, ok := c.rate.NanoCores(key, u); ok {
		out.UsageNanoCores = &rate
	}
	return out
}

func memoryStats(u *stats.Usage, limit uint64) *statsapi.MemoryStats {
	usage, ws, rss, pf, mpf := u.MemoryUsageBytes, u.MemoryWorkingSetBytes, u.MemoryRSSBytes, u.PageFaults, u.MajorPageFaults
	m := &statsapi.MemoryStats{Time: metav1.NewTime(u.Time), UsageBytes: &usage, WorkingSetBytes: &ws, RSSBytes: &rss, PageFaults: &pf, MajorPageFaults: &mpf}
	if limit > 0 {
		avail := limit - min(limit, ws)
		m.AvailableBytes = &avail
	}
	return m
}

// summary builds /stats/summary: the node and every pod with a running
// sandbox, with their running containers' CPU and memory.
func (c *statsCollector) summary(ctx context.Context) (*statsapi.Summary, error) {
	mounts, err := stats.FindMounts()
	if err != nil {
		return nil, err
	}
	node, err := stats.ReadNode()
	if err != nil {
		return nil, err
	}
	memTotal, _ := stats.MemoryTotal()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = map[string]bool{}
	s := &statsapi.Summary{Node: statsapi.NodeStats{
		NodeName:  c.nodeName,
		StartTime: metav1.NewTime(c.boot),
		CPU:       c.cpuStats("node", node),
		Memory:    memoryStats(node, memTotal),
	}}
	s.Pods = []statsapi.PodStats{}
	for _, pod := range c.pods.GetPods() {
		ps, ok := c.podStats(ctx, mounts, pod)
		if ok {
			s.Pods = append(s.Pods, ps)
		}
	}
	c.rate.Retain(c.seen)
	return s, nil
}

func (c *statsCollector) podStats(ctx context.Context, mounts stats.Mounts, pod *corev1.Pod) (statsapi.PodStats, bool) {
	log := klog.FromContext(ctx)
	sb, err := c.rt.GetPodSandbox(ctx, pod.UID)
	if err != nil || sb.PID == 0 {
		return statsapi.PodStats{}, false
	}
	pu, err := mounts.ReadCgroup(sb.CgroupParent)
	if err != nil {
		log.V(3).Info("Read pod cgroup", "pod", klog.KObj(pod), "err", err)
		return statsapi.PodStats{}, false
	}
	start := pod.CreationTimestamp
	if pod.Status.StartTime != nil {
		start = *pod.Status.StartTime
	}
	ps := statsapi.PodStats{
		PodRef:     statsapi.PodReference{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID)},
		StartTime:  start,
		Containers: []statsapi.ContainerStats{},
		CPU:        c.cpuStats("pod/"+string(pod.UID), pu),
		Memory:     memoryStats(pu, 0),
	}
	cs, err := c.rt.ListPodContainers(ctx, pod.UID)
	if err != nil {
		log.V(3).Info("List pod containers", "pod", klog.KObj(pod), "err", err)
		return ps, true
	}
	for _, cs := range runningOnly(cs) {
		u, err := mounts.ReadCgroup(sb.CgroupParent + "/" + cs.ID)
		if err != nil {
			continue
		}
		ps.Containers = append(ps.Containers, statsapi.ContainerStats{
			Name:      cs.Name,
			StartTime: metav1.NewTime(cs.StartedAt),
			CPU:       c.cpuStats("container/"+cs.ID, u),
			Memory:    memoryStats(u, 0),
		})
	}
	return ps, true
}

func runningOnly(in []*runtime.ContainerStatus) []*runtime.ContainerStatus {
	var out []*runtime.ContainerStatus
	for _, c := range in {
		if c.State == runtime.ContainerRunning {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) getSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.stats.summary(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal Error: "+err.Error())
		return
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
