package runtime

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// qosResources are the resources that decide a pod's QoS class.
var qosResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

func isQoSResource(n corev1.ResourceName) bool {
	return n == corev1.ResourceCPU || n == corev1.ResourceMemory
}

// PodQOSClass returns the QoS class recorded in the pod's status, or computes
// it as ComputePodQOSClass does.
func PodQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	return ComputePodQOSClass(pod)
}

// ComputePodQOSClass classifies a pod as upstream does: BestEffort when no
// container (init ones included) requests or limits CPU or memory; Guaranteed
// when every container limits both and every request equals its limit;
// Burstable otherwise. Pod-level resources, when given, decide alone.
func ComputePodQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
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

// podLimits sums the app containers' limits of resource name, taking the
// largest init container limit if that is higher (init containers run one
// at a time). ok is false when some container has no limit for it, in which
// case the pod as a whole is unlimited.
func podLimits(pod *corev1.Pod, name corev1.ResourceName) (total resource.Quantity, ok bool) {
	if r := pod.Spec.Resources; r != nil {
		if q, found := r.Limits[name]; found {
			return q, true
		}
	}
	for _, c := range pod.Spec.Containers {
		q, found := c.Resources.Limits[name]
		if !found {
			return resource.Quantity{}, false
		}
		total.Add(q)
	}
	for _, c := range pod.Spec.InitContainers {
		q, found := c.Resources.Limits[name]
		if !found {
			return resource.Quantity{}, false
		}
		if isSidecar(&c) {
			total.Add(q)
		} else if q.Cmp(total) > 0 {
			total = q.DeepCopy()
		}
	}
	return total, true
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}
