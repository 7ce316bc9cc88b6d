package runtime

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff-dev/skiff/internal/podqos"
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

// ComputePodQOSClass classifies a pod as upstream does (see podqos).
func ComputePodQOSClass(pod *corev1.Pod) corev1.PodQOSClass { return podqos.Compute(pod) }

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
