package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addNodeDefaults registers upstream's defaults for node.k8s.io/v1. Upstream
// defines none: a RuntimeClass is stored as written.
func addNodeDefaults(s *runtime.Scheme) {}
