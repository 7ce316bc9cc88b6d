package job

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// expectationTTL bounds how long a write is waited for in the cache.
const expectationTTL = 5 * time.Minute

// jobExpectations are the writes to a Job's pods this controller made and
// has not yet seen in its cache: pods it created (by name), pods it
// deleted and pods whose tracking finalizer it removed (by UID). Until the
// cache shows them, the Job is not resized (no double creates) and the
// pods are not counted again.
type jobExpectations struct {
	created      map[string]time.Time
	deleted      map[types.UID]time.Time
	rmFinalizers map[types.UID]time.Time
}

type expectations struct {
	mu   sync.Mutex
	jobs map[types.UID]*jobExpectations
}

func newExpectations() *expectations {
	return &expectations{jobs: map[types.UID]*jobExpectations{}}
}

func (e *expectations) forJob(uid types.UID) *jobExpectations {
	j := e.jobs[uid]
	if j == nil {
		j = &jobExpectations{created: map[string]time.Time{}, deleted: map[types.UID]time.Time{}, rmFinalizers: map[types.UID]time.Time{}}
		e.jobs[uid] = j
	}
	return j
}

func (e *expectations) expectCreated(job types.UID, name string, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forJob(job).created[name] = now
}

func (e *expectations) expectDeleted(job, pod types.UID, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forJob(job).deleted[pod] = now
}

func (e *expectations) expectFinalizerRemoved(job, pod types.UID, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forJob(job).rmFinalizers[pod] = now
}

func (e *expectations) forget(job types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.jobs, job)
}

// observe drops the expectations the cached pods fulfil and reports
// whether creations and deletions are all observed, and the pods whose
// finalizer removal is not yet observed.
func (e *expectations) observe(job types.UID, pods []*corev1.Pod, now time.Time) (bool, sets.Set[types.UID]) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.jobs[job]
	pending := sets.New[types.UID]()
	if j == nil {
		return true, pending
	}
	byName := make(map[string]*corev1.Pod, len(pods))
	byUID := make(map[types.UID]*corev1.Pod, len(pods))
	for _, p := range pods {
		byName[p.Name] = p
		byUID[p.UID] = p
	}
	for name, at := range j.created {
		if _, seen := byName[name]; seen || now.Sub(at) > expectationTTL {
			delete(j.created, name)
		}
	}
	for uid, at := range j.deleted {
		if p := byUID[uid]; p == nil || p.DeletionTimestamp != nil || now.Sub(at) > expectationTTL {
			delete(j.deleted, uid)
		}
	}
	for uid, at := range j.rmFinalizers {
		if p := byUID[uid]; p == nil || !hasTrackingFinalizer(p) || now.Sub(at) > expectationTTL {
			delete(j.rmFinalizers, uid)
			continue
		}
		pending.Insert(uid)
	}
	return len(j.created) == 0 && len(j.deleted) == 0, pending
}
