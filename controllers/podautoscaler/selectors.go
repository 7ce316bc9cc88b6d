package podautoscaler

import (
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Selectors remembers the pod selector of every HPA's target, as last
// seen, to detect pods two HPAs would both scale.
type Selectors struct {
	mu sync.Mutex
	m  map[string]selectorOf
}

type selectorOf struct {
	namespace string
	selector  labels.Selector
}

// Put records key's (namespace/name) target selector.
func (s *Selectors) Put(key, namespace string, sel labels.Selector) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]selectorOf{}
	}
	s.m[key] = selectorOf{namespace, sel}
}

// Forget drops key.
func (s *Selectors) Forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// Controlling returns the HPAs (sorted keys) whose selectors pick any of
// pods.
func (s *Selectors) Controlling(pods []*corev1.Pod) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for key, so := range s.m {
		for _, p := range pods {
			if p.Namespace == so.namespace && so.selector.Matches(labels.Set(p.Labels)) {
				out = append(out, key)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}
