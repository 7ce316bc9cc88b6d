package status

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// Manager writes generated pod statuses to the API server's status
// subresource, only when they differ from what the server has, keeping
// conditions owned by others and never moving a pod out of a terminal phase.
type Manager struct {
	client kubernetes.Interface

	mu   sync.Mutex
	last map[types.UID]corev1.PodStatus
}

// NewManager returns a Manager writing through client.
func NewManager(client kubernetes.Interface) *Manager {
	return &Manager{client: client, last: map[types.UID]corev1.PodStatus{}}
}

// Status returns the last status written (or found current) for a pod.
func (m *Manager) Status(uid types.UID) (corev1.PodStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.last[uid]
	return *s.DeepCopy(), ok
}

// Forget drops what is known about a pod (after it is deleted).
func (m *Manager) Forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.last, uid)
}

// SetPodStatus makes the API server's status of pod equal st, merged as
// Merge describes. pod is the kubelet's copy (from its informer): when its
// status already equals the merged one, nothing is written. It returns
// whether an update was sent.
func (m *Manager) SetPodStatus(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) (bool, error) {
	merged := Merge(&pod.Status, st)
	m.mu.Lock()
	last, known := m.last[pod.UID]
	m.mu.Unlock()
	if !NeedsUpdate(&pod.Status, &merged) || (known && !NeedsUpdate(&last, &merged) && !NeedsUpdate(&pod.Status, &last)) {
		m.remember(pod.UID, merged)
		return false, nil
	}
	written := false
	t0 := time.Now()
	var tGet, tUpdate time.Duration
	// The first attempt updates the kubelet's own copy: its
	// resourceVersion makes the server refuse it (Conflict) if the pod
	// changed since, and only then is the pod read again. This saves a
	// GET per write, which matters when many pods start at once.
	var local *corev1.Pod
	if pod.ResourceVersion != "" {
		local = pod.DeepCopy()
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := local
		local = nil
		if cur == nil {
			t := time.Now()
			var err error
			cur, err = m.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			tGet += time.Since(t)
			if err != nil {
				return err
			}
		}
		if cur.UID != pod.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}
		next := Merge(&cur.Status, st)
		if !NeedsUpdate(&cur.Status, &next) {
			merged = next
			return nil
		}
		cur.Status = next
		t := time.Now()
		out, err := m.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		tUpdate += time.Since(t)
		if err != nil {
			return err
		}
		merged, written = out.Status, true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	m.remember(pod.UID, merged)
	if written {
		klog.FromContext(ctx).V(1).Info("Updated pod status", "pod", klog.KObj(pod), "phase", merged.Phase)
		klog.FromContext(ctx).V(2).Info("Pod status write timing", "pod", klog.KObj(pod), "get", tGet, "update", tUpdate, "total", time.Since(t0))
	}
	return written, nil
}

func (m *Manager) remember(uid types.UID, st corev1.PodStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[uid] = st
}

// Merge combines the status the server has (old) with a generated one:
// conditions the kubelet does not own are taken from old (a
// DisruptionTarget added by the API server after generation survives), and
// a terminal phase in old is kept.
func Merge(old *corev1.PodStatus, gen corev1.PodStatus) corev1.PodStatus {
	out := *gen.DeepCopy()
	out.Conditions = nil
	for _, c := range old.Conditions {
		if !OwnedByKubelet(c.Type) {
			out.Conditions = append(out.Conditions, c)
		}
	}
	for _, c := range gen.Conditions {
		if OwnedByKubelet(c.Type) {
			out.Conditions = append(out.Conditions, c)
		}
	}
	if isTerminal(old.Phase) && out.Phase != old.Phase {
		out.Phase = old.Phase
	}
	if out.Reason == "" {
		out.Reason = old.Reason
	}
	if out.Message == "" {
		out.Message = old.Message
	}
	return out
}

// NeedsUpdate reports whether cur differs from old in anything but probe
// times.
func NeedsUpdate(old, cur *corev1.PodStatus) bool {
	a, b := old.DeepCopy(), cur.DeepCopy()
	for _, s := range []*corev1.PodStatus{a, b} {
		for i := range s.Conditions {
			s.Conditions[i].LastProbeTime = metav1.Time{}
		}
	}
	return !apiequality.Semantic.DeepEqual(a, b)
}
