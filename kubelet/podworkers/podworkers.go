package podworkers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/kubelet/runtime"
	"github.com/skiff-dev/skiff/kubelet/status"
)

// Defaults, as upstream's kubelet has them.
const (
	DefaultBackoffBase      = 10 * time.Second // crash loop back-off start
	DefaultBackoffMax       = 5 * time.Minute  // MaxContainerBackOff
	DefaultImageBackoffBase = 10 * time.Second
	DefaultImageBackoffMax  = 5 * time.Minute
	// DefaultResyncInterval is how often a pod's runtime state is
	// compared with its desired state (upstream's PLEG relist period).
	DefaultResyncInterval = time.Second
	// DefaultVolumeRefreshInterval is how often the configMap, secret,
	// downwardAPI and projected volumes of running pods are rewritten
	// (upstream: about a minute).
	DefaultVolumeRefreshInterval = 10 * time.Second
	// DefaultTerminationGracePeriod applies when a pod sets none.
	DefaultTerminationGracePeriod = 30 * time.Second
	// minimumGracePeriod is the least time a container gets after SIGTERM.
	minimumGracePeriod = 2 * time.Second
)

// Config configures the pod workers. Client, Runtime, Status and Recorder
// are required.
type Config struct {
	Client   kubernetes.Interface
	Runtime  *runtime.Runtime
	Status   *status.Manager
	Recorder record.EventRecorder
	// Prober runs probes and lifecycle hooks; nil means none.
	Prober Prober
	// Objects resolves ConfigMaps and Secrets (environment checks, pull
	// secrets); nil means APIObjects{Client}.
	Objects runtime.ObjectSource
	// HostIPs are the node's addresses for status.hostIPs.
	HostIPs []string
	// ServiceEnv returns the service link variables of a namespace (nil: none).
	ServiceEnv func(namespace string) map[string]string
	// BackoffBase and BackoffMax shape CrashLoopBackOff (10s doubling to 5m);
	// ImageBackoffBase and ImageBackoffMax shape ImagePullBackOff.
	BackoffBase, BackoffMax           time.Duration
	ImageBackoffBase, ImageBackoffMax time.Duration
	// ResyncInterval is how often each pod is re-synced.
	ResyncInterval time.Duration
	// VolumeRefreshInterval is how often a running pod's volumes are set
	// up again so ConfigMap, Secret and token changes reach its files.
	VolumeRefreshInterval time.Duration
	// Clock drives back-offs; nil means the real clock.
	Clock clock.Clock
}

// Workers owns one worker goroutine per pod on the node.
type Workers struct {
	cfg          Config
	crashBackoff *flowcontrol.Backoff
	imageBackoff *flowcontrol.Backoff

	mu         sync.Mutex
	ctx        context.Context
	workers    map[types.UID]*worker
	terminated map[types.UID]bool
	wg         sync.WaitGroup
}

// worker is the state of one pod's goroutine.
type worker struct {
	uid  types.UID
	wake chan struct{}

	mu sync.Mutex
	// pod is the latest desired pod; gone is set when it left the API.
	pod  *corev1.Pod
	gone bool
	// waiting says why containers are not running, by name.
	waiting map[string]status.Waiting
	// livenessFailed holds container IDs to restart.
	livenessFailed map[string]bool
	// pullErrors keeps the last pull error per image for back-off messages.
	pullErrors   map[string]string
	probing      bool
	finished     bool
	stopped      bool
	finalWritten bool
	nextMount    time.Time
	mountDelay   time.Duration
	// nextVolumeRefresh is when the running pod's volumes are rewritten.
	nextVolumeRefresh time.Time
}

// New validates and defaults cfg.
func New(cfg Config) (*Workers, error) {
	var errs []error
	if cfg.Client == nil {
		errs = append(errs, errors.New("a client is required"))
	}
	if cfg.Runtime == nil {
		errs = append(errs, errors.New("a runtime is required"))
	}
	if cfg.Status == nil {
		errs = append(errs, errors.New("a status manager is required"))
	}
	if cfg.Recorder == nil {
		errs = append(errs, errors.New("an event recorder is required"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("pod workers config: %w", errors.Join(errs...))
	}
	if cfg.Objects == nil {
		cfg.Objects = APIObjects{Client: cfg.Client}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.BackoffBase, DefaultBackoffBase)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.ImageBackoffBase, DefaultImageBackoffBase)
	def(&cfg.ImageBackoffMax, DefaultImageBackoffMax)
	def(&cfg.ResyncInterval, DefaultResyncInterval)
	def(&cfg.VolumeRefreshInterval, DefaultVolumeRefreshInterval)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Workers{
		cfg:          cfg,
		crashBackoff: flowcontrol.NewFakeBackOff(cfg.BackoffBase, cfg.BackoffMax, cfg.Clock),
		imageBackoff: flowcontrol.NewFakeBackOff(cfg.ImageBackoffBase, cfg.ImageBackoffMax, cfg.Clock),
		workers:      map[types.UID]*worker{},
		terminated:   map[types.UID]bool{},
	}, nil
}

// Start makes the workers ready to take pods; they run until ctx ends.
// Stopping the workers leaves the pods' containers running.
func (w *Workers) Start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	if w.cfg.Prober != nil {
		w.wg.Go(func() { w.probeUpdates(ctx) })
	}
	w.wg.Go(func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.crashBackoff.GC()
				w.imageBackoff.GC()
			}
		}
	})
}

// Wait blocks until every worker has returned after the Start context ended.
func (w *Workers) Wait() { w.wg.Wait() }

// UpdatePod hands the workers the pod as the API server now has it.
func (w *Workers) UpdatePod(pod *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.ctx.Err() != nil || w.terminated[pod.UID] {
		return
	}
	wk, ok := w.workers[pod.UID]
	if !ok {
		wk = &worker{uid: pod.UID, wake: make(chan struct{}, 1), waiting: map[string]status.Waiting{},
			livenessFailed: map[string]bool{}, pullErrors: map[string]string{}}
		w.workers[pod.UID] = wk
		ctx := klog.NewContext(w.ctx, klog.FromContext(w.ctx).WithValues("pod", klog.KObj(pod), "podUID", pod.UID))
		klog.FromContext(ctx).V(2).Info("Pod worker started", "sinceCreation", time.Since(pod.CreationTimestamp.Time))
		w.wg.Go(func() { w.run(ctx, wk) })
	}
	wk.mu.Lock()
	wk.pod = pod.DeepCopy()
	wk.mu.Unlock()
	wk.signal()
}

// DeletePod tells the workers the pod is gone from the API server: its
// containers are stopped and everything of it is removed.
func (w *Workers) DeletePod(pod *corev1.Pod) {
	w.mu.Lock()
	wk, ok := w.workers[pod.UID]
	w.mu.Unlock()
	if !ok {
		w.mu.Lock()
		delete(w.terminated, pod.UID)
		w.mu.Unlock()
		return
	}
	wk.mu.Lock()
	wk.gone = true
	wk.mu.Unlock()
	wk.signal()
}

// GetPods returns the pods the workers run (not those already terminated).
func (w *Workers) GetPods() []*corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(w.workers))
	for _, wk := range w.workers {
		if p := wk.currentPod(); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// GetPodByName returns the pod namespace/name the workers run.
func (w *Workers) GetPodByName(namespace, name string) (*corev1.Pod, bool) {
	for _, p := range w.GetPods() {
		if p.Namespace == namespace && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

func (wk *worker) signal() {
	select {
	case wk.wake <- struct{}{}:
	default:
	}
}

func (wk *worker) currentPod() *corev1.Pod {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if wk.pod == nil {
		return nil
	}
	return wk.pod.DeepCopy()
}

func (w *Workers) worker(uid types.UID) *worker {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.workers[uid]
}

func (w *Workers) probeUpdates(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-w.cfg.Prober.Updates():
			if !ok {
				return
			}
			wk := w.worker(u.PodUID)
			if wk == nil {
				continue
			}
			if u.Kind == ProbeLiveness && !u.Success {
				wk.mu.Lock()
				wk.livenessFailed[u.ContainerID] = true
				wk.mu.Unlock()
			}
			wk.signal()
		}
	}
}

// run is a pod's goroutine: sync on every change and every resync interval
// until the pod is gone.
func (w *Workers) run(ctx context.Context, wk *worker) {
	log := klog.FromContext(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wk.wake:
		case <-timer.C:
		}
		done, err := w.sync(ctx, wk)
		if err != nil && ctx.Err() == nil {
			log.Error(err, "Error syncing pod, skipping")
		}
		if done {
			w.mu.Lock()
			delete(w.workers, wk.uid)
			w.terminated[wk.uid] = true
			w.mu.Unlock()
			log.V(1).Info("Pod worker finished")
			return
		}
		timer.Reset(w.cfg.ResyncInterval)
	}
}
