package resourcemetrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"
)

// DefaultResolution is metrics-server's --metric-resolution default: how
// often kubelets are scraped.
const DefaultResolution = 15 * time.Second

// ResourcePath is the kubelet endpoint scraped.
const ResourcePath = "/metrics/resource"

// maxResponseBytes bounds what is read of one kubelet's answer.
const maxResponseBytes = 32 << 20

// maxConcurrentScrapes bounds the kubelets scraped at once.
const maxConcurrentScrapes = 32

// Kubelets sends requests to nodes' kubelets (kubeletproxy.Client).
type Kubelets interface {
	Get(ctx context.Context, node *corev1.Node, path string) (*http.Response, error)
}

// Config is what a Scraper needs.
type Config struct {
	// Nodes lists the nodes to scrape; only Ready ones are.
	Nodes corelisters.NodeLister
	// Kubelets reaches their kubelets.
	Kubelets Kubelets
	// Resolution is the scrape period; zero means DefaultResolution. Each
	// scrape of a kubelet must finish within 90% of it.
	Resolution time.Duration
	// Clock stamps the served objects' creationTimestamp; nil means the
	// real clock. Samples carry the kubelet's own timestamps.
	Clock clock.PassiveClock
}

// Scraper collects resource usage from kubelets and answers for nodes and
// pods from the last two samples.
type Scraper struct {
	nodes      corelisters.NodeLister
	kubelets   Kubelets
	resolution time.Duration
	timeout    time.Duration
	store      *store
}

// New validates and defaults c.
func New(c Config) (*Scraper, error) {
	if c.Nodes == nil || c.Kubelets == nil {
		return nil, fmt.Errorf("resource metrics scraper needs a node lister and a kubelet client")
	}
	if c.Resolution < 0 {
		return nil, fmt.Errorf("metric resolution must not be negative, got %s", c.Resolution)
	}
	if c.Resolution == 0 {
		c.Resolution = DefaultResolution
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return &Scraper{
		nodes:      c.Nodes,
		kubelets:   c.Kubelets,
		resolution: c.Resolution,
		timeout:    c.Resolution * 9 / 10,
		store:      newStore(c.Resolution, c.Clock),
	}, nil
}

// Start scrapes every resolution, the first time at once, until ctx ends.
func (s *Scraper) Start(ctx context.Context) {
	klog.FromContext(ctx).V(1).Info("Starting resource metrics scraper", "resolution", s.resolution)
	wait.NonSlidingUntilWithContext(ctx, s.Scrape, s.resolution)
}

// Scrape scrapes every Ready node's kubelet once and stores the cycle's
// samples; nodes that fail are logged and forgotten until they answer.
func (s *Scraper) Scrape(ctx context.Context) {
	logger := klog.FromContext(ctx)
	nodes, err := s.nodes.List(labels.Everything())
	if err != nil {
		logger.Error(err, "Listing nodes to scrape failed")
		return
	}
	var (
		mu    sync.Mutex
		batch = map[string]*sample{}
		wg    sync.WaitGroup
		slots = make(chan struct{}, maxConcurrentScrapes)
	)
	for _, node := range nodes {
		if !ready(node) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			smp, err := s.scrapeNode(ctx, node)
			if err != nil {
				logger.V(1).Info("Scraping kubelet resource metrics failed", "node", klog.KObj(node), "err", err)
				return
			}
			mu.Lock()
			batch[node.Name] = smp
			mu.Unlock()
		}()
	}
	wg.Wait()
	s.store.update(batch)
}

func (s *Scraper) scrapeNode(ctx context.Context, node *corev1.Node) (*sample, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.kubelets.Get(ctx, node, ResourcePath)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: HTTP %d: %q", ResourcePath, resp.StatusCode, body)
	}
	smp, err := decode(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", ResourcePath, err)
	}
	return smp, nil
}

func ready(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// NodeMetrics returns node's usage over the window of its last two samples,
// or false when it has fewer than two usable ones.
func (s *Scraper) NodeMetrics(node *corev1.Node) (metricsv1beta1.NodeMetrics, bool) {
	return s.store.NodeMetrics(node)
}

// PodMetrics returns the usage of pod's containers, or false unless each
// has two usable samples from the kubelet of pod's node.
func (s *Scraper) PodMetrics(pod *corev1.Pod) (metricsv1beta1.PodMetrics, bool) {
	return s.store.PodMetrics(pod)
}
