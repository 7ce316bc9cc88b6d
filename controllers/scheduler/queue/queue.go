package queue

import (
	"container/heap"
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/utils/clock"
)

// Upstream's defaults.
const (
	DefaultInitialBackoff   = time.Second
	DefaultMaxBackoff       = 10 * time.Second
	DefaultUnschedulableMax = 5 * time.Minute
	backoffFlushPeriod      = time.Second
	unschedulableFlush      = 30 * time.Second
)

// PodInfo is a queued pod.
type PodInfo struct {
	Pod *v1.Pod
	// Timestamp is when it last entered the queue (activeQ order) or was
	// last tried (backoff and unschedulable timing).
	Timestamp time.Time
	// InitialAttemptTimestamp is when it was first popped.
	InitialAttemptTimestamp time.Time
	Attempts                int
	// UnschedulablePlugins are the plugins that rejected it last.
	UnschedulablePlugins []string
	gated                bool
	index                int
}

// Options tune a Queue; zero values mean upstream's defaults.
type Options struct {
	InitialBackoff, MaxBackoff, MaxUnschedulable time.Duration
	Clock                                        clock.WithTicker
}

// Queue is the scheduling queue. It is safe for concurrent use.
type Queue struct {
	opts Options
	clk  clock.WithTicker

	mu            sync.Mutex
	cond          *sync.Cond
	active        podHeap
	backoff       podHeap
	unschedulable map[types.UID]*PodInfo
	inFlight      map[types.UID]*PodInfo
	all           map[types.UID]*PodInfo
	// A move request during a pod's cycle sends it to backoff, not to
	// unschedulable, when it fails.
	schedulingCycle  int64
	moveRequestCycle int64
	closed           bool
}

// New makes a Queue.
func New(opts Options) *Queue {
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = DefaultInitialBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxUnschedulable <= 0 {
		opts.MaxUnschedulable = DefaultUnschedulableMax
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	q := &Queue{
		opts: opts, clk: opts.Clock,
		unschedulable:    map[types.UID]*PodInfo{},
		inFlight:         map[types.UID]*PodInfo{},
		all:              map[types.UID]*PodInfo{},
		moveRequestCycle: -1,
	}
	q.active.less = func(a, b *PodInfo) bool {
		pa, pb := corev1helpers.PodPriority(a.Pod), corev1helpers.PodPriority(b.Pod)
		if pa != pb {
			return pa > pb
		}
		return a.Timestamp.Before(b.Timestamp)
	}
	q.backoff.less = func(a, b *PodInfo) bool { return q.backoffExpiry(a).Before(q.backoffExpiry(b)) }
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Run flushes the backoff and unschedulable pods periodically until ctx
// ends, then closes the queue.
func (q *Queue) Run(ctx context.Context) {
	bt := q.clk.NewTicker(backoffFlushPeriod)
	ut := q.clk.NewTicker(unschedulableFlush)
	defer bt.Stop()
	defer ut.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-bt.C():
			q.FlushBackoffCompleted()
		case <-ut.C():
			q.FlushUnschedulableLeftover()
		}
	}
}

// Close wakes Pop callers, which return nil.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

func gated(p *v1.Pod) bool { return len(p.Spec.SchedulingGates) > 0 }

// Add queues a new pending pod.
func (q *Queue) Add(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.all[pod.UID]; ok {
		q.updateLocked(pod)
		return
	}
	pi := &PodInfo{Pod: pod, Timestamp: q.clk.Now(), index: -1}
	q.all[pod.UID] = pi
	if gated(pod) {
		pi.gated = true
		q.unschedulable[pod.UID] = pi
		return
	}
	heap.Push(&q.active, pi)
	q.cond.Signal()
}

// Update replaces a queued pod's object; an unschedulable pod whose spec
// changed, or whose gates are gone, goes back to be tried.
func (q *Queue) Update(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.all[pod.UID]; !ok {
		pi := &PodInfo{Pod: pod, Timestamp: q.clk.Now(), index: -1}
		q.all[pod.UID] = pi
		if gated(pod) {
			pi.gated = true
			q.unschedulable[pod.UID] = pi
			return
		}
		heap.Push(&q.active, pi)
		q.cond.Signal()
		return
	}
	q.updateLocked(pod)
}

func (q *Queue) updateLocked(pod *v1.Pod) {
	pi := q.all[pod.UID]
	old := pi.Pod
	pi.Pod = pod
	switch {
	case pi.index >= 0 && q.inActive(pi):
		heap.Fix(&q.active, pi.index)
	case pi.index >= 0:
		heap.Fix(&q.backoff, pi.index)
	case q.unschedulable[pod.UID] == pi:
		if pi.gated {
			if gated(pod) {
				return
			}
			pi.gated = false
			delete(q.unschedulable, pod.UID)
			heap.Push(&q.active, pi)
			q.cond.Signal()
			return
		}
		if specChanged(old, pod) {
			delete(q.unschedulable, pod.UID)
			q.requeueLocked(pi)
		}
	}
}

func specChanged(a, b *v1.Pod) bool {
	return a.Generation != b.Generation || !sameLabels(a, b)
}

func sameLabels(a, b *v1.Pod) bool {
	if len(a.Labels) != len(b.Labels) {
		return false
	}
	for k, v := range a.Labels {
		if b.Labels[k] != v {
			return false
		}
	}
	return true
}

func (q *Queue) inActive(pi *PodInfo) bool {
	return pi.index < len(q.active.items) && q.active.items[pi.index] == pi
}

// Delete forgets a pod.
func (q *Queue) Delete(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	pi, ok := q.all[pod.UID]
	if !ok {
		return
	}
	delete(q.all, pod.UID)
	delete(q.unschedulable, pod.UID)
	delete(q.inFlight, pod.UID)
	if pi.index >= 0 {
		if q.inActive(pi) {
			heap.Remove(&q.active, pi.index)
		} else if pi.index < len(q.backoff.items) && q.backoff.items[pi.index] == pi {
			heap.Remove(&q.backoff, pi.index)
		}
	}
}

// Pop blocks until a pod is active and returns it, or nil once the queue
// is closed or ctx ends. The pod is in flight until Done or
// AddUnschedulable.
func (q *Queue) Pop(ctx context.Context) *PodInfo {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.mu.Unlock()
		q.cond.Broadcast()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.active.items) == 0 {
		if q.closed || ctx.Err() != nil {
			return nil
		}
		q.cond.Wait()
	}
	pi := heap.Pop(&q.active).(*PodInfo)
	pi.Attempts++
	if pi.InitialAttemptTimestamp.IsZero() {
		pi.InitialAttemptTimestamp = q.clk.Now()
	}
	q.schedulingCycle++
	q.inFlight[pi.Pod.UID] = pi
	return pi
}

// SchedulingCycle is the number of pods popped so far.
func (q *Queue) SchedulingCycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.schedulingCycle
}

// Done ends a pod's cycle after it was scheduled (assumed); the queue
// forgets it.
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, uid)
	delete(q.all, uid)
}

// AddUnschedulable returns a pod whose cycle (started at cycle) failed:
// to the unschedulable set, or to backoff if a cluster event happened
// meanwhile or the failure was an error (backoffOnly).
func (q *Queue) AddUnschedulable(pi *PodInfo, cycle int64, backoffOnly bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, pi.Pod.UID)
	cur, ok := q.all[pi.Pod.UID]
	if !ok {
		// Deleted meanwhile, or Done: start anew.
		q.all[pi.Pod.UID] = pi
	} else if cur != pi {
		return
	}
	pi.Timestamp = q.clk.Now()
	pi.index = -1
	if backoffOnly || q.moveRequestCycle >= cycle {
		heap.Push(&q.backoff, pi)
		return
	}
	q.unschedulable[pi.Pod.UID] = pi
}

func (q *Queue) backoffDuration(pi *PodInfo) time.Duration {
	d := q.opts.InitialBackoff
	for i := 1; i < pi.Attempts; i++ {
		d *= 2
		if d > q.opts.MaxBackoff {
			return q.opts.MaxBackoff
		}
	}
	return d
}

func (q *Queue) backoffExpiry(pi *PodInfo) time.Time { return pi.Timestamp.Add(q.backoffDuration(pi)) }

// requeueLocked moves a pod to backoff or, if its backoff is over, active.
func (q *Queue) requeueLocked(pi *PodInfo) {
	if q.clk.Now().Before(q.backoffExpiry(pi)) {
		heap.Push(&q.backoff, pi)
		return
	}
	heap.Push(&q.active, pi)
	q.cond.Signal()
}

// MoveAllToActiveOrBackoff moves every unschedulable (not gated) pod back,
// on a cluster event that may make them schedulable.
func (q *Queue) MoveAllToActiveOrBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for uid, pi := range q.unschedulable {
		if pi.gated {
			continue
		}
		delete(q.unschedulable, uid)
		q.requeueLocked(pi)
	}
	q.moveRequestCycle = q.schedulingCycle
}

// FlushBackoffCompleted moves pods whose backoff is over to active.
func (q *Queue) FlushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clk.Now()
	for len(q.backoff.items) > 0 {
		pi := q.backoff.items[0]
		if now.Before(q.backoffExpiry(pi)) {
			return
		}
		heap.Pop(&q.backoff)
		heap.Push(&q.active, pi)
		q.cond.Signal()
	}
}

// FlushUnschedulableLeftover moves pods unschedulable for longer than the
// maximum (5 minutes) back.
func (q *Queue) FlushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clk.Now()
	for uid, pi := range q.unschedulable {
		if !pi.gated && now.Sub(pi.Timestamp) > q.opts.MaxUnschedulable {
			delete(q.unschedulable, uid)
			q.requeueLocked(pi)
		}
	}
}

// Lengths reports the sizes of activeQ, backoffQ and the unschedulable set.
func (q *Queue) Lengths() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.active.items), len(q.backoff.items), len(q.unschedulable)
}

// Has reports whether the queue holds (or is scheduling) the pod.
func (q *Queue) Has(uid types.UID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.all[uid]
	return ok
}

type podHeap struct {
	items []*PodInfo
	less  func(a, b *PodInfo) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}
func (h *podHeap) Push(x any) {
	pi := x.(*PodInfo)
	pi.index = len(h.items)
	h.items = append(h.items, pi)
}
func (h *podHeap) Pop() any {
	old := h.items
	n := len(old)
	pi := old[n-1]
	old[n-1] = nil
	h.items = old[:n-1]
	pi.index = -1
	return pi
}
