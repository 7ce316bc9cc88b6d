// Package podqos computes a pod's quality-of-service class as upstream's
// qos helper does. The API server records it in a new pod's status; the
// kubelet places the pod's cgroup by it.
package podqos

import (
	corev1 "k8s.io/api/core/v1"
)

func isQoSResource(n corev1.ResourceName) bool {
	return n == corev1.ResourceCPU || n == corev1.ResourceMemory
}

// Compute classifies a pod as upstream does: BestEffort when no
// container (init ones included) requests or limits CPU or memory; Guaranteed
// when every container limits both and every request equals its limit;
// Burstable otherwise. Pod-level resources, when given, decide alone.
func Compute(pod *corev1.Pod) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	guaranteed := true

	add := func(into corev1.ResourceList, from corev1.ResourceList, found map[corev1.ResourceName]bool) {
		for name, q := range from {
			if !isQoSResource(name) || q.Sign() <= 0 {
				continue
			}
			if found != nil {
				found[name] = true
			}
			sum := into[name]
			sum.Add(q)
			into[name] = sum
		}
	}
	if r := pod.Spec.Resources; r != nil && (len(r.Requests) > 0 || len(r.Limits) > 0) {
		found := map[corev1.ResourceName]bool{}
		add(requests, r.Requests, nil)
		add(limits, r.Limits, found)
		guaranteed = found[corev1.ResourceCPU] && found[corev1.ResourceMemory]
	} else {
		all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
		for _, c := range all {
			found := map[corev1.ResourceName]bool{}
			add(requests, c.Resources.Requests, nil)
			add(limits, c.Resources.Limits, found)
			if !found[corev1.ResourceCPU] || !found[corev1.ResourceMemory] {
				guaranteed = false
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
