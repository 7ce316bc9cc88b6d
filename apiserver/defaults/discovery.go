package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addDiscoveryDefaults registers upstream's defaults for discovery.k8s.io/v1.
func addDiscoveryDefaults(s *runtime.Scheme) {}
