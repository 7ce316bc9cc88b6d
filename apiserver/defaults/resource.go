package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addResourceDefaults registers upstream's defaults for resource.k8s.io/v1.
func addResourceDefaults(s *runtime.Scheme) {}
