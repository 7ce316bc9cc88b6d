package podcontrol

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// PodDeletionCostAnnotation ranks pods for deletion: lower cost goes first.
const PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// NewControllerRef is the controller ownerReference an object owned by owner
// (of kind gvk) carries: controller and blockOwnerDeletion set.
func NewControllerRef(owner metav1.Object, gvk schema.GroupVersionKind) *metav1.OwnerReference {
	return &metav1.OwnerReference{
		APIVersion:         gvk.GroupVersion().String(),
		Kind:               gvk.Kind,
		Name:               owner.GetName(),
		UID:                owner.GetUID(),
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}

// PodFromTemplate builds the pod a controller creates from template: named
// "<owner>-<random>" through generateName, in the owner's namespace, with the
// template's labels, annotations, finalizers and spec, and ref as its only
// ownerReference.
func PodFromTemplate(template *corev1.PodTemplateSpec, owner metav1.Object, ref *metav1.OwnerReference) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: owner.GetName() + "-",
			Namespace:    owner.GetNamespace(),
			Labels:       copyMap(template.Labels),
			Annotations:  copyMap(template.Annotations),
			Finalizers:   append([]string(nil), template.Finalizers...),
		},
	}
	if ref != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	template.Spec.DeepCopyInto(&pod.Spec)
	return pod
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SlowStartBatch calls fn count times, in batches that start at
// initialBatchSize and double after each fully successful batch; the calls of
// a batch run in parallel. It stops after the first batch with a failure and
// returns how many calls succeeded and the first error, so a controller that
// hits a quota does not spam the API server with count doomed requests.
func SlowStartBatch(count, initialBatchSize int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initialBatchSize); batch > 0; batch = min(2*batch, remaining) {
		errCh := make(chan error, batch)
		var wg sync.WaitGroup
		wg.Add(batch)
		for i := 0; i < batch; i++ {
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errCh <- err
				}
			}()
		}
		wg.Wait()
		close(errCh)
		successes += batch - len(errCh)
		if len(errCh) > 0 {
			return successes, <-errCh
		}
		remaining -= batch
	}
	return successes, nil
}

// IsPodActive: not Succeeded or Failed and not being deleted.
func IsPodActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

// IsPodTerminating: being deleted but not yet Succeeded or Failed (the pods
// status.terminatingReplicas counts).
func IsPodTerminating(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// ReadyCondition is the pod's Ready condition, or nil.
func ReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// IsPodReady: its Ready condition is True.
func IsPodReady(p *corev1.Pod) bool {
	c := ReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsPodAvailable: ready for at least minReadySeconds at now.
func IsPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := ReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	d := time.Duration(minReadySeconds) * time.Second
	return !c.LastTransitionTime.IsZero() && !c.LastTransitionTime.Add(d).After(now)
}

// AvailableAfter is how long until a ready but not yet available pod becomes
// available (0 if it is available or not ready).
func AvailableAfter(p *corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	c := ReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue || minReadySeconds == 0 {
		return 0
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if !at.After(now) {
		return 0
	}
	return at.Sub(now)
}

// MatchesSelector: the object's labels match selector (an empty selector
// matches nothing, as with controllers).
func MatchesSelector(selector labels.Selector, l map[string]string) bool {
	return !selector.Empty() && selector.Matches(labels.Set(l))
}

// SortForDeletion orders pods so that the ones to delete first come first,
// as upstream's ranking does:
//  1. unassigned before assigned;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower pod-deletion-cost before higher;
//  5. higher rank before lower (ranks[i] is, typically, how many related
//     active pods share pod i's node: doubled-up pods go first);
//  6. ready for a shorter time before longer (in log2 buckets);
//  7. more container restarts before fewer;
//  8. newer before older (in log2 buckets of age).
//
// ranks may be nil (all equal). now anchors the logarithmic buckets.
func SortForDeletion(pods []*corev1.Pod, ranks []int, now time.Time) {
	if ranks == nil {
		ranks = make([]int, len(pods))
	}
	s := &rankedPods{pods: pods, ranks: ranks, now: now}
	sort.Stable(s)
}

type rankedPods struct {
	pods  []*corev1.Pod
	ranks []int
	now   time.Time
}

func (s *rankedPods) Len() int { return len(s.pods) }
func (s *rankedPods) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.ranks[i], s.ranks[j] = s.ranks[j], s.ranks[i]
}

var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

func (s *rankedPods) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	// 1. Unassigned < assigned.
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	// 2. Pending < Unknown < Running.
	if pa, pb := phaseOrder[a.Status.Phase], phaseOrder[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	// 3. Not ready < ready.
	if ra, rb := IsPodReady(a), IsPodReady(b); ra != rb {
		return !ra
	}
	// 4. Lower deletion cost < higher.
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	// 5. Doubled up < not doubled up.
	if s.ranks[i] != s.ranks[j] {
		return s.ranks[i] > s.ranks[j]
	}
	// 6. Ready for less time < more time (both ready here, or both not).
	if IsPodReady(a) && IsPodReady(b) {
		ta, tb := ReadyCondition(a).LastTransitionTime, ReadyCondition(b).LastTransitionTime
		if !ta.Equal(&tb) {
			if ba, bb := s.bucket(ta), s.bucket(tb); ba != bb {
				return ba < bb
			}
		}
	}
	// 7. More restarts < fewer.
	if ra, rb := maxRestarts(a), maxRestarts(b); ra != rb {
		return ra > rb
	}
	// 8. Newer < older.
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if ba, bb := s.bucket(a.CreationTimestamp), s.bucket(b.CreationTimestamp); ba != bb {
			return ba < bb
		}
	}
	return false
}

// bucket is log2 of how long ago t was; a zero time sorts first.
func (s *rankedPods) bucket(t metav1.Time) int64 {
	if t.IsZero() {
		return -1
	}
	d := s.now.Sub(t.Time)
	if d <= 0 {
		return 0
	}
	return int64(math.Log2(float64(d.Nanoseconds())))
}

func deletionCost(p *corev1.Pod) int64 {
	v, ok := p.Annotations[PodDeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return n
}

func maxRestarts(p *corev1.Pod) int32 {
	var m int32
	for _, c := range p.Status.ContainerStatuses {
		m = max(m, c.RestartCount)
	}
	return m
}
