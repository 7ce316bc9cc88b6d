package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Probe kinds, as carried by Update.Kind.
const (
	KindLiveness  = "liveness"
	KindReadiness = "readiness"
	KindStartup   = "startup"
)

// DefaultUpdateBuffer is the capacity of the Updates channel when
// Config.UpdateBuffer is zero. Workers block on a full channel.
const DefaultUpdateBuffer = 100

// Execer runs a command in a running container and waits for it, as CRI's
// ExecSync: exitCode is the command's, err is set only when the command could
// not be run or did not finish within timeout (0 means no timeout); a timeout
// is reported by an error that wraps context.DeadlineExceeded or has a
// Timeout() method returning true.
type Execer interface {
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (stdout, stderr []byte, exitCode int, err error)
}

// Config configures a Manager.
type Config struct {
	// Exec runs exec probes and hooks. Required.
	Exec Execer
	// Recorder receives the Unhealthy, ProbeWarning and
	// LifecycleHTTPFallback events. Events are dropped if nil.
	Recorder record.EventRecorder
	// Clock drives periods, delays and sleep hooks; the real clock if nil.
	Clock clock.WithTicker
	// ProbeTLSConfig is used by HTTPS probes and hooks; the default, as
	// upstream, does not verify the container's certificate.
	ProbeTLSConfig *tls.Config
	// UpdateBuffer is the capacity of the Updates channel
	// (DefaultUpdateBuffer if zero).
	UpdateBuffer int
	// Logger for the workers; klog's background logger if unset.
	Logger logr.Logger
}

// Update is a change in the result of a container's probe: a readiness probe
// passing or failing, a startup probe passing or failing past its
// threshold, a liveness probe failing past its threshold (the container
// should be restarted). Results are not repeated while they stay the same,
// and the values a new container starts with (not ready, live, not started)
// are not reported.
type Update struct {
	PodUID      types.UID
	Container   string
	ContainerID string
	// Kind is KindLiveness, KindReadiness or KindStartup.
	Kind    string
	Success bool
}

// Manager runs the probes of the pods it is given and keeps their results.
// Its methods are safe for concurrent use.
type Manager struct {
	exec     Execer
	recorder record.EventRecorder
	clock    clock.WithTicker
	log      logr.Logger

	probeTransport *http.Transport
	hookClient     *http.Client

	// start is when the manager was created: workers created within one
	// period of it spread their first probe over the period.
	start   time.Time
	updates chan Update
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stop    sync.Once

	mu      sync.Mutex
	stopped bool
	pods    map[types.UID]*podEntry
	workers map[probeKey]*worker
	results map[resultKey]bool
}

type podEntry struct {
	// pod is the latest pod given to AddPod; nil until then.
	pod        *corev1.Pod
	containers map[string]containerState
}

// containerState is what UpdateContainer last said about a container.
type containerState struct {
	id        string
	startedAt time.Time
	running   bool
}

type probeKey struct {
	uid       types.UID
	container string
	kind      string
}

// resultKey identifies a stored result: results belong to one container
// instance, so a restarted container starts afresh.
type resultKey struct {
	containerID string
	kind        string
}

// New checks cfg, applies its defaults and returns a Manager with no pods.
func New(cfg Config) (*Manager, error) {
	if cfg.Exec == nil {
		return nil, errors.New("prober: Config.Exec is required")
	}
	if cfg.UpdateBuffer < 0 {
		return nil, fmt.Errorf("prober: Config.UpdateBuffer must not be negative, got %d", cfg.UpdateBuffer)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.UpdateBuffer == 0 {
		cfg.UpdateBuffer = DefaultUpdateBuffer
	}
	if cfg.Logger.GetSink() == nil {
		cfg.Logger = klog.Background()
	}
	hookTLS := cfg.ProbeTLSConfig
	if hookTLS == nil {
		hookTLS = &tls.Config{InsecureSkipVerify: true} // as upstream: hooks cannot verify the container
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		exec:           cfg.Exec,
		recorder:       cfg.Recorder,
		clock:          cfg.Clock,
		log:            cfg.Logger.WithName("prober"),
		probeTransport: newProbeTransport(cfg.ProbeTLSConfig),
		hookClient: &http.Client{
			// Never carries credentials: it talks to arbitrary hosts.
			Transport: &http.Transport{
				TLSClientConfig:   hookTLS,
				DisableKeepAlives: true,
				Proxy:             http.ProxyURL(nil),
			},
			CheckRedirect: sameHostRedirects,
		},
		start:   cfg.Clock.Now(),
		updates: make(chan Update, cfg.UpdateBuffer),
		ctx:     ctx,
		cancel:  cancel,
		pods:    make(map[types.UID]*podEntry),
		workers: make(map[probeKey]*worker),
		results: make(map[resultKey]bool),
	}
	return m, nil
}

// Updates delivers changes of probe results. It is closed by Stop. The
// consumer must keep reading: workers wait while it is full.
func (m *Manager) Updates() <-chan Update { return m.updates }

// probedContainers are the containers of pod that have probes: its
// containers and its restartable init containers (sidecars).
func probedContainers(pod *corev1.Pod) []*corev1.Container {
	var cs []*corev1.Container
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cs = append(cs, c)
		}
	}
	for i := range pod.Spec.Containers {
		cs = append(cs, &pod.Spec.Containers[i])
	}
	return cs
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	if pod == nil {
		return nil
	}
	for _, c := range probedContainers(pod) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func probeFor(c *corev1.Container, kind string) *corev1.Probe {
	if c == nil {
		return nil
	}
	switch kind {
	case KindLiveness:
		return c.LivenessProbe
	case KindReadiness:
		return c.ReadinessProbe
	case KindStartup:
		return c.StartupProbe
	}
	return nil
}

// AddPod starts a worker for each probe of the pod's containers and
// restartable init containers that has none yet, and keeps the pod as the
// one probes read: its Status.PodIP (or first PodIPs entry) is where
// httpGet, tcpSocket and grpc probes without a host go, so calling AddPod
// again with a new IP moves them. A pod being deleted gets no new liveness
// or startup workers (and the running ones report success and stop, as
// upstream). Calling it again for a known pod is cheap.
func (m *Manager) AddPod(pod *corev1.Pod) {
	pod = pod.DeepCopy()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	p := m.pods[pod.UID]
	if p == nil {
		p = &podEntry{containers: make(map[string]containerState)}
		m.pods[pod.UID] = p
	}
	// A new IP or a deletion is looked at by the running workers at once.
	if prev := p.pod; prev != nil && (podIP(prev) != podIP(pod) || (prev.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil)) {
		for key, w := range m.workers {
			if key.uid == pod.UID {
				w.trigger()
			}
		}
	}
	p.pod = pod
	for _, c := range probedContainers(pod) {
		for _, kind := range []string{KindStartup, KindReadiness, KindLiveness} {
			spec := probeFor(c, kind)
			if spec == nil {
				continue
			}
			if pod.DeletionTimestamp != nil && kind != KindReadiness {
				continue
			}
			key := probeKey{uid: pod.UID, container: c.Name, kind: kind}
			if _, ok := m.workers[key]; ok {
				continue
			}
			w := newWorker(m, key, spec)
			m.workers[key] = w
			m.wg.Add(1)
			go w.run()
		}
	}
}

// UpdateContainer records the runtime state of one of a pod's containers:
// its current container ID, when it started and whether it is running.
// Probes of a new container ID start from the initial values (not ready,
// live, not started) and run initialDelaySeconds after startedAt. Any
// change makes the container's workers look at it at once.
func (m *Manager) UpdateContainer(uid types.UID, container, containerID string, startedAt time.Time, running bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	p := m.pods[uid]
	if p == nil {
		p = &podEntry{containers: make(map[string]containerState)}
		m.pods[uid] = p
	}
	old := p.containers[container]
	state := containerState{id: containerID, startedAt: startedAt, running: running}
	if old.id == state.id && old.running == state.running && old.startedAt.Equal(state.startedAt) {
		return
	}
	if old.id != "" && old.id != containerID {
		m.dropResultsLocked(old.id)
	}
	p.containers[container] = state
	for _, kind := range []string{KindStartup, KindReadiness, KindLiveness} {
		if w, ok := m.workers[probeKey{uid: uid, container: container, kind: kind}]; ok {
			w.trigger()
		}
	}
}

// RemovePod stops the pod's workers and forgets its results.
func (m *Manager) RemovePod(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, w := range m.workers {
		if key.uid == uid {
			w.cancel()
			delete(m.workers, key)
		}
	}
	if p := m.pods[uid]; p != nil {
		for _, st := range p.containers {
			m.dropResultsLocked(st.id)
		}
		delete(m.pods, uid)
	}
}

// Stop stops all workers, waits for them to return and closes Updates.
func (m *Manager) Stop() {
	m.stop.Do(func() {
		m.mu.Lock()
		m.stopped = true
		m.mu.Unlock()
		m.cancel()
		m.wg.Wait()
		close(m.updates)
	})
}

// Started reports whether the container's startup probe has passed: true
// if it has none, false for a container UpdateContainer said is not
// running.
func (m *Manager) Started(uid types.UID, container, containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.startedLocked(uid, container, containerID)
}

// Ready reports whether the container is ready: it has started (see
// Started), is running, and its readiness probe, if any, has passed since
// the container started. Without a readiness probe a started container is
// ready. A pod AddPod was not given has no known probes.
func (m *Manager) Ready(uid types.UID, container, containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.startedLocked(uid, container, containerID) {
		return false
	}
	var c *corev1.Container
	if p := m.pods[uid]; p != nil {
		c = findContainer(p.pod, container)
	}
	if probeFor(c, KindReadiness) == nil {
		return true
	}
	return m.resultLocked(uid, container, containerID, KindReadiness)
}

// resultLocked is the stored result of a probe; before the first one, the
// pod status' word on that same container instance (a kubelet restart).
func (m *Manager) resultLocked(uid types.UID, container, containerID, kind string) bool {
	if r, ok := m.results[resultKey{containerID: containerID, kind: kind}]; ok {
		return r
	}
	p := m.pods[uid]
	if p == nil || p.pod == nil {
		return false
	}
	cs := reportedStatus(p.pod, container, containerID)
	switch {
	case cs == nil:
		return false
	case kind == KindReadiness:
		return cs.Ready
	default:
		return cs.Started != nil && *cs.Started
	}
}

func (m *Manager) startedLocked(uid types.UID, container, containerID string) bool {
	p := m.pods[uid]
	if p == nil {
		return true
	}
	if st, ok := p.containers[container]; ok && st.id == containerID && !st.running {
		return false
	}
	if probeFor(findContainer(p.pod, container), KindStartup) == nil {
		return true
	}
	return m.resultLocked(uid, container, containerID, KindStartup)
}

func (m *Manager) dropResultsLocked(containerID string) {
	for _, kind := range []string{KindStartup, KindReadiness, KindLiveness} {
		delete(m.results, resultKey{containerID: containerID, kind: kind})
	}
}

// snapshot returns what a worker needs for one run: the pod and the state
// of its container. ok is false once the worker's pod is gone.
func (m *Manager) snapshot(key probeKey) (pod *corev1.Pod, st containerState, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[key.uid]
	if p == nil || p.pod == nil {
		return nil, containerState{}, false
	}
	return p.pod, p.containers[key.container], true
}

// initialResult sets the value a new container's probe starts with,
// without an Update: readiness false, liveness true, startup unknown.
func (m *Manager) initialResult(key probeKey, containerID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.currentLocked(key, containerID) {
		return
	}
	rk := resultKey{containerID: containerID, kind: key.kind}
	// After a kubelet restart the container instance the pod's status
	// already reports ready (or started) keeps that result until a probe
	// says otherwise, as upstream's worker does, so a restart does not
	// flap the pod's readiness.
	if p := m.pods[key.uid]; p != nil && p.pod != nil && (key.kind == KindReadiness || key.kind == KindStartup) {
		if cs := reportedStatus(p.pod, key.container, containerID); cs != nil &&
			((key.kind == KindReadiness && cs.Ready) || (key.kind == KindStartup && cs.Started != nil && *cs.Started)) {
			m.results[rk] = true
			return
		}
	}
	switch key.kind {
	case KindReadiness:
		m.results[rk] = false
	case KindLiveness:
		m.results[rk] = true
	default:
		delete(m.results, rk)
	}
}

// setResult stores a result for the container and returns the Update to
// send if it is a change. Results for a container that is no longer the
// current one are dropped.
func (m *Manager) setResult(key probeKey, containerID string, success bool) (Update, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.currentLocked(key, containerID) {
		return Update{}, false
	}
	rk := resultKey{containerID: containerID, kind: key.kind}
	if old, ok := m.results[rk]; ok && old == success {
		return Update{}, false
	}
	m.results[rk] = success
	return Update{PodUID: key.uid, Container: key.container, ContainerID: containerID, Kind: key.kind, Success: success}, true
}

func (m *Manager) currentLocked(key probeKey, containerID string) bool {
	p := m.pods[key.uid]
	return p != nil && p.containers[key.container].id == containerID
}

// startedForWorker is Started for the container instance a worker probes.
func (m *Manager) startedForWorker(key probeKey, containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[key.uid]
	if p == nil || probeFor(findContainer(p.pod, key.container), KindStartup) == nil {
		return true
	}
	return m.results[resultKey{containerID: containerID, kind: KindStartup}]
}

// removeWorker forgets w if it is still the worker for its key.
func (m *Manager) removeWorker(w *worker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workers[w.key] == w {
		delete(m.workers, w.key)
	}
}

// reportedStatus is the pod status' entry for the given instance of a
// container, if the status is about that instance.
func reportedStatus(pod *corev1.Pod, container, containerID string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if cs.Name == container && cs.ContainerID != "" && strings.HasSuffix(cs.ContainerID, "://"+containerID) {
				return cs
			}
		}
	}
	return nil
}
