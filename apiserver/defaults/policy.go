package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addPolicyDefaults registers upstream's defaults for policy/v1: there are
// none. A PodDisruptionBudget keeps an unset unhealthyPodEvictionPolicy
// (eviction treats it as IfHealthyBudget) and an unset selector.
func addPolicyDefaults(s *runtime.Scheme) {}
