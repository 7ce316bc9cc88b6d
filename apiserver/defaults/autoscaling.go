package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addAutoscalingDefaults registers upstream's defaults for autoscaling/v1 and autoscaling/v2.
func addAutoscalingDefaults(s *runtime.Scheme) {}
