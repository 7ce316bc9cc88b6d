// Package status turns what the kubelet knows about a pod (its spec, the
// runtime's containers, probe results, sync failures) into the
// corev1.PodStatus upstream's kubelet would report (Generate), and writes it
// to the API server's status subresource only when it changed (Manager).
// It does not run or inspect containers itself.
package status
