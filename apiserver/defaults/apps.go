package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addAppsDefaults registers upstream's defaults for apps/v1.
func addAppsDefaults(s *runtime.Scheme) {}
