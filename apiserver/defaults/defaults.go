package defaults

import "k8s.io/apimachinery/pkg/runtime"

// AddToScheme registers the defaulting functions of every served group on s.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme){
		addCoreDefaults,
		addRBACDefaults,
		addAdmissionRegistrationDefaults,
		addPodDefaults,
		addClusterCoreDefaults,
		addDiscoveryDefaults,
		addNetworkingDefaults,
		addStorageDefaults,
		addSchedulingDefaults,
		addNodeDefaults,
		addCertificatesDefaults,
		addFlowcontrolDefaults,
		addResourceDefaults,
		addAppsDefaults,
		addBatchDefaults,
		addAutoscalingDefaults,
		addPolicyDefaults,
	} {
		add(s)
	}
	return nil
}
