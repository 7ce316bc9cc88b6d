package printers

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kinds maps every built-in resource Skiff prints to its printer.
var kinds = map[schema.GroupResource]printer{
	{Resource: "namespaces"}:      namespaces,
	{Resource: "configmaps"}:      configMaps,
	{Resource: "secrets"}:         secrets,
	{Resource: "serviceaccounts"}: serviceAccounts,
	{Resource: "events"}:          events,

	{Group: "events.k8s.io", Resource: "events"}:       events,
	{Group: "coordination.k8s.io", Resource: "leases"}: leases,

	{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}:        roleBindings,
	{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}: clusterRoleBindings,

	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}:   validatingWebhookConfigurations,
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}:     mutatingWebhookConfigurations,
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicies"}:       validatingAdmissionPolicies,
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicybindings"}: validatingAdmissionPolicyBindings,
	{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicies"}:         mutatingAdmissionPolicies,
	{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicybindings"}:   mutatingAdmissionPolicyBindings,

	{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}: certificateSigningRequests,
	{Group: "certificates.k8s.io", Resource: "clustertrustbundles"}:        clusterTrustBundles,
	{Group: "certificates.k8s.io", Resource: "podcertificaterequests"}:     podCertificateRequests,

	{Resource: "pods"}:                   pods,
	{Resource: "podtemplates"}:           podTemplates,
	{Resource: "services"}:               services,
	{Resource: "endpoints"}:              endpoints,
	{Resource: "nodes"}:                  nodes,
	{Resource: "persistentvolumes"}:      persistentVolumes,
	{Resource: "persistentvolumeclaims"}: persistentVolumeClaims,
	{Resource: "replicationcontrollers"}: replicationControllers,
	{Resource: "resourcequotas"}:         resourceQuotas,
	{Resource: "componentstatuses"}:      componentStatuses,

	{Group: "apps", Resource: "deployments"}:         deployments,
	{Group: "apps", Resource: "replicasets"}:         replicaSets,
	{Group: "apps", Resource: "statefulsets"}:        statefulSets,
	{Group: "apps", Resource: "daemonsets"}:          daemonSets,
	{Group: "apps", Resource: "controllerrevisions"}: controllerRevisions,

	{Group: "batch", Resource: "jobs"}:                           jobs,
	{Group: "batch", Resource: "cronjobs"}:                       cronJobs,
	{Group: "autoscaling", Resource: "horizontalpodautoscalers"}: horizontalPodAutoscalers,
	{Group: "policy", Resource: "poddisruptionbudgets"}:          podDisruptionBudgets,
	{Group: "discovery.k8s.io", Resource: "endpointslices"}:      endpointSlices,

	{Group: "networking.k8s.io", Resource: "ingresses"}:       ingresses,
	{Group: "networking.k8s.io", Resource: "ingressclasses"}:  ingressClasses,
	{Group: "networking.k8s.io", Resource: "networkpolicies"}: networkPolicies,
	{Group: "networking.k8s.io", Resource: "servicecidrs"}:    serviceCIDRs,
	{Group: "networking.k8s.io", Resource: "ipaddresses"}:     ipAddresses,

	{Group: "storage.k8s.io", Resource: "storageclasses"}:          storageClasses,
	{Group: "storage.k8s.io", Resource: "csidrivers"}:              csiDrivers,
	{Group: "storage.k8s.io", Resource: "csinodes"}:                csiNodes,
	{Group: "storage.k8s.io", Resource: "volumeattachments"}:       volumeAttachments,
	{Group: "storage.k8s.io", Resource: "volumeattributesclasses"}: volumeAttributesClasses,

	{Group: "scheduling.k8s.io", Resource: "priorityclasses"}:                        priorityClasses,
	{Group: "node.k8s.io", Resource: "runtimeclasses"}:                               runtimeClasses,
	{Group: "flowcontrol.apiserver.k8s.io", Resource: "flowschemas"}:                 flowSchemas,
	{Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"}: priorityLevelConfigurations,

	{Group: "resource.k8s.io", Resource: "deviceclasses"}:                    deviceClasses,
	{Group: "resource.k8s.io", Resource: "devicetaintrules"}:                 deviceTaintRules,
	{Group: "resource.k8s.io", Resource: "resourceclaims"}:                   resourceClaims,
	{Group: "resource.k8s.io", Resource: "resourceclaimtemplates"}:           resourceClaimTemplates,
	{Group: "resource.k8s.io", Resource: "resourceslices"}:                   resourceSlices,
	{Group: "storagemigration.k8s.io", Resource: "storageversionmigrations"}: storageVersionMigrations,
}

// defaultColumns are the built-in resources kube-apiserver prints with only
// NAME and CREATED AT (rest.NewDefaultTableConvertor).
var defaultColumns = map[schema.GroupResource]bool{
	{Group: "rbac.authorization.k8s.io", Resource: "roles"}:        true,
	{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}: true,
	{Resource: "limitranges"}:                                      true,
	{Group: "storage.k8s.io", Resource: "csistoragecapacities"}:    true,
}
