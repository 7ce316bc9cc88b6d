package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addPolicyDefaults registers upstream's defaults for policy/v1.
func addPolicyDefaults(s *runtime.Scheme) {}
