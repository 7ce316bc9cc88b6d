package prober

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
)

// Defaults of the API server for probe fields, applied when a pod given to
// AddPod was not defaulted.
const (
	defaultPeriod           = 10 * time.Second
	defaultTimeout          = 1 * time.Second
	defaultFailureThreshold = 3
	defaultSuccessThreshold = 1
)

// worker probes one container probe periodically until it is cancelled.
// Only its own goroutine touches the fields below ctx.
type worker struct {
	m      *Manager
	key    probeKey
	spec   *corev1.Probe
	ctx    context.Context
	cancel context.CancelFunc
	// triggerCh asks for a run now (buffered, so trigger never blocks).
	triggerCh chan struct{}

	period           time.Duration
	failureThreshold int
	successThreshold int

	// containerID is the container instance being probed.
	containerID string
	// lastSuccess and resultRun count consecutive equal results.
	lastSuccess bool
	resultRun   int
	// onHold stops probing until a new container: after a liveness failure
	// (it will be restarted) or a startup result (it is settled).
	onHold bool
}

func newWorker(m *Manager, key probeKey, spec *corev1.Probe) *worker {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &worker{
		m:                m,
		key:              key,
		spec:             spec.DeepCopy(),
		ctx:              ctx,
		cancel:           cancel,
		triggerCh:        make(chan struct{}, 1),
		period:           time.Duration(spec.PeriodSeconds) * time.Second,
		failureThreshold: int(spec.FailureThreshold),
		successThreshold: int(spec.SuccessThreshold),
	}
	if w.period <= 0 {
		w.period = defaultPeriod
	}
	if w.failureThreshold <= 0 {
		w.failureThreshold = defaultFailureThreshold
	}
	if w.successThreshold <= 0 || key.kind != KindReadiness {
		// Liveness and startup probes must have a success threshold of 1.
		w.successThreshold = defaultSuccessThreshold
	}
	return w
}

func (w *worker) trigger() {
	select {
	case w.triggerCh <- struct{}{}:
	default:
	}
}

func (w *worker) logger() logr.Logger {
	return w.m.log.WithValues("podUID", w.key.uid, "containerName", w.key.container, "probeType", w.key.kind)
}

// run is the worker's loop: a first run (after a random part of the period
// if the manager has just started, so that the probes of a restarted
// kubelet spread out), then one run per period tick, trigger, or the end of
// the initial delay.
func (w *worker) run() {
	defer w.m.wg.Done()
	defer w.m.removeWorker(w)
	defer w.cancel()

	clk := w.m.clock
	if w.period > clk.Since(w.m.start) {
		jitter := clk.NewTimer(time.Duration(rand.Float64() * float64(w.period)))
		select {
		case <-w.ctx.Done():
			jitter.Stop()
			return
		case <-jitter.C():
		}
	}

	ticker := clk.NewTicker(w.period)
	defer func() { ticker.Stop() }()
	var delay <-chan time.Time
	var delayTimer interface{ Stop() bool }
	defer func() {
		if delayTimer != nil {
			delayTimer.Stop()
		}
	}()

	for {
		// This run sees the latest state: a trigger already pending is
		// answered by it.
		select {
		case <-w.triggerCh:
		default:
		}
		keepGoing, wakeIn := w.doProbe()
		if !keepGoing {
			return
		}
		if delayTimer != nil {
			delayTimer.Stop()
			delayTimer, delay = nil, nil
		}
		if wakeIn > 0 {
			t := clk.NewTimer(wakeIn)
			delayTimer, delay = t, t.C()
		}
		select {
		case <-w.ctx.Done():
			return
		case <-ticker.C():
		case <-delay:
		case <-w.triggerCh:
			// Count the period from this run, as upstream.
			ticker.Stop()
			ticker = clk.NewTicker(w.period)
		}
	}
}

// doProbe runs the probe once if the container is in a state to be probed,
// and records the result. It returns whether the worker should go on, and
// a time to run again sooner than the next tick (the end of the initial
// delay).
func (w *worker) doProbe() (keepGoing bool, wakeIn time.Duration) {
	pod, st, ok := w.m.snapshot(w.key)
	if !ok {
		return false, 0
	}
	if st.id == "" {
		// Not created yet.
		return true, 0
	}
	if st.id != w.containerID {
		w.containerID = st.id
		w.onHold = false
		w.resultRun = 0
		w.m.initialResult(w.key, st.id)
	}
	if st.running && pod.DeletionTimestamp != nil && w.key.kind != KindReadiness {
		// The pod is shutting down: liveness and startup report success
		// so that the container is not restarted, and stop.
		w.logger().V(1).Info("Pod deletion requested, setting probe result to success")
		w.send(w.m.setResult(w.key, st.id, true))
		return false, 0
	}
	if w.onHold {
		return true, 0
	}
	if !st.running {
		if w.key.kind == KindReadiness {
			w.send(w.m.setResult(w.key, st.id, false))
		}
		return true, 0
	}
	if delay := time.Duration(w.spec.InitialDelaySeconds) * time.Second; delay > 0 {
		if since := w.m.clock.Since(st.startedAt); since < delay {
			return true, delay - since
		}
	}
	started := w.m.startedForWorker(w.key, st.id)
	if w.key.kind == KindStartup && started {
		return true, 0
	}
	if w.key.kind != KindStartup && !started {
		return true, 0
	}

	c := findContainer(pod, w.key.container)
	if c == nil {
		return true, 0
	}
	res, err := w.m.probe(w.ctx, w.key.kind, w.spec, pod, c, st.id)
	if w.ctx.Err() != nil {
		return false, 0
	}
	if err != nil {
		// The probe could not be run: the result is thrown away.
		return true, 0
	}
	success := res == resultSuccess
	if w.resultRun > 0 && success == w.lastSuccess {
		w.resultRun++
	} else {
		w.lastSuccess = success
		w.resultRun = 1
	}
	if (!success && w.resultRun < w.failureThreshold) || (success && w.resultRun < w.successThreshold) {
		return true, 0
	}
	w.send(w.m.setResult(w.key, st.id, success))
	if (w.key.kind == KindLiveness && !success) || w.key.kind == KindStartup {
		w.onHold = true
		w.resultRun = 0
	}
	return true, 0
}

// send delivers u if changed is true, unless the worker is stopped first.
func (w *worker) send(u Update, changed bool) {
	if !changed {
		return
	}
	select {
	case w.m.updates <- u:
	case <-w.ctx.Done():
	}
}
