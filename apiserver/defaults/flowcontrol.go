package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addFlowcontrolDefaults registers upstream's defaults for flowcontrol.apiserver.k8s.io/v1.
func addFlowcontrolDefaults(s *runtime.Scheme) {}
