package podgc

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
)

const (
	// DefaultPeriod is how often a GC pass runs (upstream's gcCheckPeriod).
	DefaultPeriod = 20 * time.Second
	// DefaultQuarantine is how long a missing node must stay missing before
	// its pods are deleted (upstream's quarantineTime).
	DefaultQuarantine = 40 * time.Second
	// DefaultThreshold is --terminated-pod-gc-threshold's default.
	DefaultThreshold = 12500

	// ReasonDeletionByPodGC is the DisruptionTarget reason of orphaned pods.
	ReasonDeletionByPodGC = "DeletionByPodGC"
	messageOrphaned       = "PodGC: node no longer exists"
	reasonEvicted         = "Evicted"
)

// Config tunes the pod GC beyond controllers.Options.
type Config struct {
	// Period between passes (0: DefaultPeriod).
	Period time.Duration
	// Quarantine before orphans of a missing node go (0: DefaultQuarantine).
	Quarantine time.Duration
}

// Descriptor is the "podgc" controller with upstream's timings.
var Descriptor = NewDescriptor(Config{})

// NewDescriptor is the "podgc" controller with its own timings (tests).
func NewDescriptor(cfg Config) controllers.Descriptor {
	return controllers.Descriptor{Name: "podgc", Setup: func(ctx context.Context, c controllers.Context) error {
		return setup(ctx, c, cfg)
	}}
}

func setup(_ context.Context, c controllers.Context, cfg Config) error {
	if cfg.Period <= 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Quarantine <= 0 {
		cfg.Quarantine = DefaultQuarantine
	}
	threshold := c.Options.TerminatedPodGCThreshold
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	g := &collector{
		reader:    c.Manager.GetClient(),
		client:    c.Client,
		cfg:       cfg,
		threshold: threshold,
		missing:   map[string]time.Time{},
		now:       time.Now,
	}
	// Ensure the informers exist before the manager starts, so the first
	// pass sees a synced cache.
	if _, err := c.Manager.GetCache().GetInformer(context.Background(), &corev1.Pod{}); err != nil {
		return fmt.Errorf("podgc: pod informer: %w", err)
	}
	if _, err := c.Manager.GetCache().GetInformer(context.Background(), &corev1.Node{}); err != nil {
		return fmt.Errorf("podgc: node informer: %w", err)
	}
	return c.Manager.Add(manager.RunnableFunc(func(ctx context.Context) error {
		ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithName("podgc"))
		if !c.Manager.GetCache().WaitForCacheSync(ctx) {
			return nil
		}
		wait.UntilWithContext(ctx, g.pass, cfg.Period)
		return nil
	}))
}

type collector struct {
	reader    client.Reader
	client    kubernetes.Interface
	cfg       Config
	threshold int
	now       func() time.Time

	mu sync.Mutex
	// missing remembers when each node pods are bound to was first seen
	// missing from the cache: the quarantine.
	missing map[string]time.Time
}

// pass is one GC round.
func (g *collector) pass(ctx context.Context) {
	log := klog.FromContext(ctx)
	var pods corev1.PodList
	if err := g.reader.List(ctx, &pods); err != nil {
		log.Error(err, "Listing pods failed")
		return
	}
	var nodes corev1.NodeList
	if err := g.reader.List(ctx, &nodes); err != nil {
		log.Error(err, "Listing nodes failed")
		return
	}
	plan := g.plan(ctx, pods.Items, nodes.Items)
	var wg sync.WaitGroup
	for _, d := range plan {
		wg.Add(1)
		go func(d deletion) {
			defer wg.Done()
			if err := g.markFailedAndDelete(ctx, d.pod, d.condition); err != nil && !apierrors.IsNotFound(err) {
				log.Error(err, "Force deleting pod failed", "pod", klog.KObj(d.pod), "why", d.why)
				return
			}
			log.Info("PodGC force deleted pod", "pod", klog.KObj(d.pod), "why", d.why)
		}(d)
	}
	wg.Wait()
}

type deletion struct {
	pod       *corev1.Pod
	condition *corev1.PodCondition
	why       string
}

// plan decides what one pass deletes.
func (g *collector) plan(ctx context.Context, pods []corev1.Pod, nodes []corev1.Node) []deletion {
	nodeByName := make(map[string]*corev1.Node, len(nodes))
	for i := range nodes {
		nodeByName[nodes[i].Name] = &nodes[i]
	}
	seen := map[types.UID]bool{}
	var out []deletion
	add := func(p *corev1.Pod, cond *corev1.PodCondition, why string) {
		if seen[p.UID] {
			return
		}
		seen[p.UID] = true
		out = append(out, deletion{pod: p, condition: cond, why: why})
	}

	// Terminating pods on not-ready, out-of-service nodes.
	for _, p := range sortedPods(pods, func(p *corev1.Pod) bool {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" || isTerminated(p) {
			return false
		}
		n := nodeByName[p.Spec.NodeName]
		return n != nil && !nodeReady(n) && hasTaintKey(n, corev1.TaintNodeOutOfService)
	}) {
		add(p, nil, "terminating on out-of-service node")
	}

	// Terminated pods over the threshold.
	terminated := sortedPods(pods, isTerminated)
	if excess := len(terminated) - g.threshold; excess > 0 {
		for _, p := range terminated[:excess] {
			add(p, nil, "terminated pods over threshold")
		}
	}

	// Orphans: bound to nodes that stayed missing through the quarantine
	// and that the API server confirms are gone.
	gone := g.goneNodes(ctx, pods, nodeByName)
	for _, p := range sortedPods(pods, func(p *corev1.Pod) bool { return p.Spec.NodeName != "" && gone[p.Spec.NodeName] }) {
		add(p, &corev1.PodCondition{
			Type:    corev1.DisruptionTarget,
			Status:  corev1.ConditionTrue,
			Reason:  ReasonDeletionByPodGC,
			Message: messageOrphaned,
		}, "orphaned")
	}

	// Terminating pods that were never scheduled.
	for _, p := range sortedPods(pods, func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil && p.Spec.NodeName == "" }) {
		add(p, nil, "unscheduled terminating")
	}
	return out
}

// goneNodes updates the quarantine and returns the nodes whose pods may go.
func (g *collector) goneNodes(ctx context.Context, pods []corev1.Pod, nodeByName map[string]*corev1.Node) map[string]bool {
	now := g.now()
	g.mu.Lock()
	missingNow := map[string]bool{}
	for i := range pods {
		n := pods[i].Spec.NodeName
		if n == "" || nodeByName[n] != nil {
			continue
		}
		missingNow[n] = true
		if _, ok := g.missing[n]; !ok {
			g.missing[n] = now
		}
	}
	var due []string
	for n, since := range g.missing {
		if !missingNow[n] {
			delete(g.missing, n)
			continue
		}
		if now.Sub(since) >= g.cfg.Quarantine {
			due = append(due, n)
		}
	}
	g.mu.Unlock()

	gone := map[string]bool{}
	for _, n := range due {
		_, err := g.client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone[n] = true
		case err != nil:
			klog.FromContext(ctx).Error(err, "Checking whether node exists failed", "node", klog.KRef("", n))
		default:
			// The cache lags: the node exists after all.
			g.mu.Lock()
			delete(g.missing, n)
			g.mu.Unlock()
		}
	}
	return gone
}

// markFailedAndDelete moves a non-terminal pod to Failed (with cond, if
// any) and force-deletes it.
func (g *collector) markFailedAndDelete(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition) error {
	if !isTerminated(pod) {
		status := map[string]any{"phase": corev1.PodFailed}
		if cond != nil {
			c := *cond
			c.ObservedGeneration = pod.Generation
			c.LastTransitionTime = metav1.NewTime(g.now())
			status["conditions"] = []corev1.PodCondition{c}
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"uid": pod.UID},
			"status":   status,
		})
		if err != nil {
			return err
		}
		if _, err := g.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			return fmt.Errorf("mark pod %s/%s failed: %w", pod.Namespace, pod.Name, err)
		}
	}
	err := g.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// sortedPods filters pods and orders them as upstream's
// byEvictionAndCreationTimestamp: evicted first, then oldest, then by name.
func sortedPods(pods []corev1.Pod, keep func(*corev1.Pod) bool) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range pods {
		if keep(&pods[i]) {
			out = append(out, &pods[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ei, ej := isEvicted(out[i]), isEvicted(out[j])
		if ei != ej {
			return ei
		}
		ti, tj := out[i].CreationTimestamp, out[j].CreationTimestamp
		if ti.Equal(&tj) {
			if out[i].Namespace != out[j].Namespace {
				return out[i].Namespace < out[j].Namespace
			}
			return out[i].Name < out[j].Name
		}
		return ti.Before(&tj)
	})
	return out
}

func isTerminated(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func isEvicted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed && p.Status.Reason == reasonEvicted
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaintKey(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
