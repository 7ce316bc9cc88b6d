// Package autoscaling validates HorizontalPodAutoscalers on the
// autoscaling/v2 type, Skiff's internal and storage version (autoscaling/v1
// objects are converted to it first, see apiserver/conversion), with
// upstream kube-apiserver's field paths, error types and messages and the
// options its strategy derives from the stored object. HPAScaleToZero is
// off, as in Kubernetes 1.37 by default: minReplicas must be at least 1
// unless the stored object already had 0.
package autoscaling
