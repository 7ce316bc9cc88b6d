package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addStorageDefaults registers upstream's defaults for storage.k8s.io/v1.
func addStorageDefaults(s *runtime.Scheme) {}
