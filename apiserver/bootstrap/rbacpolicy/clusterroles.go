package rbacpolicy

import (
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Labels by which admin, edit and view aggregate other ClusterRoles.
const (
	aggregateToAdminLabel = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEditLabel  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToViewLabel  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// ClusterRoles returns every bootstrap ClusterRole, the system:controller:*
// roles last, in kube-apiserver's order. admin, edit and view carry their
// aggregationRule and, since no aggregation controller runs, the aggregated
// rules too. Roles and rules that kube-apiserver adds behind feature gates are
// here where the gate is on by default and absent where it is off
// (ClusterTrustBundle, PodCertificateRequest, GenericWorkload,
// DRADeviceTaintRules, StorageVersionMigrator, ...).
func ClusterRoles() []rbacv1.ClusterRole {
	roles := append(defaultClusterRoles(), controllerClusterRoles()...)
	aggregate(roles)
	return roles
}

// ClusterRoleBindings returns every bootstrap ClusterRoleBinding, those of the
// system:controller:* roles last.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	return append(defaultClusterRoleBindings(), controllerClusterRoleBindings()...)
}

func clusterRole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{
		ObjectMeta: bootstrapMeta(metav1.ObjectMeta{Name: name, Labels: labels}),
		Rules:      rules,
	}
}

// aggregatedClusterRole is a ClusterRole whose rules are the union of those of
// the ClusterRoles labeled selectLabel=true.
func aggregatedClusterRole(name string, labels map[string]string, selectLabel string) rbacv1.ClusterRole {
	role := clusterRole(name, labels)
	role.AggregationRule = &rbacv1.AggregationRule{
		ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{selectLabel: "true"}}},
	}
	return role
}

func defaultClusterRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		// A "root" role which can do absolutely anything.
		clusterRole("cluster-admin", nil,
			allow("*").groups("*").resources("*").build(),
			allow("*").urls("*").build(),
		),
		// Just enough to tell whether the server is ready and to discover API versions.
		clusterRole("system:discovery", nil,
			allow("get").urls(
				"/livez", "/readyz", "/healthz",
				"/version", "/version/",
				"/openapi", "/openapi/*",
				"/api", "/api/*",
				"/apis", "/apis/*",
			).build(),
		),
		// Read access to the monitoring endpoints, including the individual
		// health checks, which may hold more sensitive information.
		clusterRole("system:monitoring", nil,
			allow("get").urls(
				"/metrics", "/metrics/slis",
				"/livez", "/readyz", "/healthz",
				"/livez/*", "/readyz/*", "/healthz/*",
				"/flagz", "/statusz", // ComponentFlagz, ComponentStatusz
			).build(),
			allow("get").groups(legacyGroup).resources("nodes/metrics").build(),
		),
		// What a "normal" user needs to learn about themselves.
		clusterRole("system:basic-user", nil,
			allow("create").groups(authorizationGroup).resources("selfsubjectaccessreviews", "selfsubjectrulesreviews").build(),
			allow("create").groups(authenticationGroup).resources("selfsubjectreviews").build(),
		),
		// Insensitive cluster information, readable by anyone.
		clusterRole("system:public-info-viewer", nil,
			allow("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/").build(),
		),
		// A namespace admin: edit plus the power to grant permissions to others.
		aggregatedClusterRole("admin", nil, aggregateToAdminLabel),
		// A namespace editor: every user-level action in a namespace, but not the
		// "privileged" status subresources, quota or limits.
		aggregatedClusterRole("edit", map[string]string{aggregateToAdminLabel: "true"}, aggregateToEditLabel),
		// A namespace viewer: read-only access to non-escalating resources.
		aggregatedClusterRole("view", map[string]string{aggregateToEditLabel: "true"}, aggregateToViewLabel),
		clusterRole("system:aggregate-to-admin", map[string]string{aggregateToAdminLabel: "true"},
			allow("create").groups(authorizationGroup).resources("localsubjectaccessreviews").build(),
			allow(readWrite...).groups(rbacGroup).resources("roles", "rolebindings").build(),
		),
		clusterRole("system:aggregate-to-edit", map[string]string{aggregateToEditLabel: "true"}, editRules()...),
		clusterRole("system:aggregate-to-view", map[string]string{aggregateToViewLabel: "true"}, viewRules()...),
		clusterRole("system:heapster", nil,
			allow(read...).groups(legacyGroup).resources("events", "pods", "nodes", "namespaces").build(),
			allow(read...).groups(extensionsGroup).resources("deployments").build(),
		),
		clusterRole(systemNodeRoleName, nil, NodeRules()...),
		// For node-problem-detector; not bound, since where it runs varies.
		clusterRole("system:node-problem-detector", nil,
			allow("get").groups(legacyGroup).resources("nodes").build(),
			allow("patch").groups(legacyGroup).resources("nodes/status").build(),
			eventsRule(),
		),
		// Bootstrapping a node's client certificate.
		clusterRole("system:node-bootstrapper", nil,
			allow("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests").build(),
		),
		// Delegated authentication and authorization.
		clusterRole("system:auth-delegator", nil,
			allow("create").groups(authenticationGroup).resources("tokenreviews").build(),
			allow("create").groups(authorizationGroup).resources("subjectaccessreviews").build(),
		),
		// The aggregator must see all services to know whether those it points to exist.
		clusterRole("system:kube-aggregator", nil,
			allow(read...).groups(legacyGroup).resources("services", "endpoints").build(),
		),
		// What kube-controller-manager needs before it creates an identity per controller.
		clusterRole("system:kube-controller-manager", nil,
			eventsRule(),
			allow("create").groups(coordinationGroup).resources("leases").build(),
			allow("get", "update").groups(coordinationGroup).resources("leases").names("kube-controller-manager").build(),
			allow("create").groups(legacyGroup).resources("secrets", "serviceaccounts").build(),
			allow("delete").groups(legacyGroup).resources("secrets").build(),
			allow("get").groups(legacyGroup).resources("namespaces", "secrets", "serviceaccounts", "configmaps").build(),
			allow("update").groups(legacyGroup).resources("secrets", "serviceaccounts").build(),
			allow("create").groups(authenticationGroup).resources("tokenreviews").build(),
			allow("create").groups(authorizationGroup).resources("subjectaccessreviews").build(),
			allow("list", "watch").groups("*").resources("*").build(),
			allow("create").groups(legacyGroup).resources("serviceaccounts/token").build(),
		),
		clusterRole("system:kube-dns", nil,
			allow("list", "watch").groups(legacyGroup).resources("endpoints", "services").build(),
		),
		// An external persistent volume provisioner.
		clusterRole("system:persistent-volume-provisioner", nil,
			allow("get", "list", "watch", "create", "delete").groups(legacyGroup).resources("persistentvolumes").build(),
			allow("get", "list", "watch", "update").groups(legacyGroup).resources("persistentvolumeclaims").build(),
			allow(read...).groups(storageGroup).resources("storageclasses").build(),
			allow("watch").groups(legacyGroup).resources("events").build(),
			eventsRule(),
		),
		// Lets the CSR approver approve a node's client certificate request.
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient", nil,
			allow("create").groups(certificatesGroup).resources("certificatesigningrequests/nodeclient").build(),
		),
		// Lets the CSR approver approve a node's own renewal request.
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", nil,
			allow("create").groups(certificatesGroup).resources("certificatesigningrequests/selfnodeclient").build(),
		),
		clusterRole("system:volume-scheduler", nil,
			allow(readUpdate...).groups(legacyGroup).resources("persistentvolumes").build(),
			allow(read...).groups(storageGroup).resources("storageclasses").build(),
			allow(readUpdate...).groups(legacyGroup).resources("persistentvolumeclaims").build(),
		),
		signerApproverRole("system:certificates.k8s.io:legacy-unknown-approver", certificatesv1beta1.LegacyUnknownSignerName),
		signerApproverRole("system:certificates.k8s.io:kubelet-serving-approver", certificatesv1beta1.KubeletServingSignerName),
		signerApproverRole("system:certificates.k8s.io:kube-apiserver-client-approver", certificatesv1beta1.KubeAPIServerClientSignerName),
		signerApproverRole("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", certificatesv1beta1.KubeAPIServerClientKubeletSignerName),
		// Service account issuer discovery; the slash-ended URLs serve clients
		// generated from openapi documents published before a trailing-slash fix.
		clusterRole("system:service-account-issuer-discovery", nil,
			allow("get").urls(
				"/.well-known/openid-configuration", "/.well-known/openid-configuration/",
				"/openid/v1/jwks", "/openid/v1/jwks/",
			).build(),
		),
		// Full access to the kubelet API.
		clusterRole("system:kubelet-api-admin", nil,
			allow("get", "list", "watch").groups(legacyGroup).resources("nodes").build(),
			allow("proxy").groups(legacyGroup).resources("nodes").build(),
			allow("*").groups(legacyGroup).resources("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log").build(),
			allow("*").groups(legacyGroup).resources("nodes/pods", "nodes/healthz", "nodes/configz").build(), // KubeletFineGrainedAuthz
		),
		// kube-proxy.
		clusterRole("system:node-proxier", nil,
			allow("list", "watch").groups(legacyGroup).resources("services", "endpoints").build(),
			allow("get", "list", "watch").groups(legacyGroup).resources("nodes").build(),
			eventsRule(),
			allow("list", "watch").groups(networkingGroup).resources("servicecidrs").build(), // MultiCIDRServiceAllocator
			allow("list", "watch").groups(discoveryGroup).resources("endpointslices").build(),
		),
		clusterRole("system:kube-scheduler", nil, kubeSchedulerRules()...),
		// Reading metrics.k8s.io, which Skiff serves in-process: the role
		// metrics-server's manifests install, aggregated into admin, edit and
		// view as theirs is.
		clusterRole("system:aggregated-metrics-reader", map[string]string{
			aggregateToAdminLabel: "true", aggregateToEditLabel: "true", aggregateToViewLabel: "true",
		}, allow("get", "list", "watch").groups(resourceMetricsGroup).resources("pods", "nodes").build()),
		// Reading ClusterTrustBundles, which pods may mount: bound to every
		// service account.
		clusterRole("system:cluster-trust-bundle-discovery", nil,
			allow(read...).groups(certificatesGroup).resources("clustertrustbundles").build()),
	}
}

func signerApproverRole(name, signer string) rbacv1.ClusterRole {
	return clusterRole(name, nil, allow("approve").groups(certificatesGroup).resources("signers").names(signer).build())
}

func viewRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		allow(read...).groups(legacyGroup).resources("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps").build(),
		allow(read...).groups(legacyGroup).resources("limitranges", "resourcequotas", "bindings",
			"pods/status", "resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log").build(),
		// Reading namespaces at namespace scope means reading *this* namespace,
		// which tells which namespaces one has access to.
		allow(read...).groups(legacyGroup).resources("namespaces").build(),
		allow(read...).groups(legacyGroup, eventsGroup).resources("events").build(),
		allow(read...).groups(discoveryGroup).resources("endpointslices").build(),
		allow(read...).groups(appsGroup).resources(
			"controllerrevisions",
			"statefulsets", "statefulsets/status", "statefulsets/scale",
			"daemonsets", "daemonsets/status",
			"deployments", "deployments/status", "deployments/scale",
			"replicasets", "replicasets/status", "replicasets/scale").build(),
		allow(read...).groups(autoscalingGroup).resources("horizontalpodautoscalers", "horizontalpodautoscalers/status").build(),
		allow(read...).groups(batchGroup).resources("jobs", "cronjobs", "cronjobs/status", "jobs/status").build(),
		allow(read...).groups(extensionsGroup).resources("daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
			"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
			"networkpolicies").build(),
		allow(read...).groups(policyGroup).resources("poddisruptionbudgets", "poddisruptionbudgets/status").build(),
		allow(read...).groups(networkingGroup).resources("networkpolicies", "ingresses", "ingresses/status").build(),
		allow(read...).groups(resourceGroup).resources("resourceclaims", "resourceclaims/status", "resourceclaimtemplates").build(), // DynamicResourceAllocation
	}
}

func editRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Reading the escalating resources.
		allow(read...).groups(legacyGroup).resources("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy").build(),
		allow("impersonate").groups(legacyGroup).resources("serviceaccounts").build(),
		allow(write...).groups(legacyGroup).resources("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward").build(),
		allow("create").groups(legacyGroup).resources("pods/eviction").build(),
		allow(write...).groups(legacyGroup).resources("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets").build(),
		allow("create").groups(legacyGroup).resources("serviceaccounts/token").build(),
		allow(write...).groups(legacyGroup, eventsGroup).resources("events").build(),
		allow(write...).groups(appsGroup).resources(
			"statefulsets", "statefulsets/scale",
			"daemonsets",
			"deployments", "deployments/scale", "deployments/rollback",
			"replicasets", "replicasets/scale").build(),
		allow(write...).groups(autoscalingGroup).resources("horizontalpodautoscalers").build(),
		allow(write...).groups(batchGroup).resources("jobs", "cronjobs").build(),
		allow(write...).groups(extensionsGroup).resources("daemonsets",
			"deployments", "deployments/scale", "deployments/rollback", "ingresses",
			"replicasets", "replicasets/scale", "replicationcontrollers/scale",
			"networkpolicies").build(),
		allow(write...).groups(policyGroup).resources("poddisruptionbudgets").build(),
		allow(write...).groups(networkingGroup).resources("networkpolicies", "ingresses").build(),
		allow(readWrite...).groups(coordinationGroup).resources("leases").build(),
		allow(write...).groups(resourceGroup).resources("resourceclaims", "resourceclaimtemplates").build(), // DynamicResourceAllocation
	}
}

const systemNodeRoleName = "system:node"

// NodeRules returns the rules of the system:node ClusterRole: what a kubelet
// needs, before the Node authorizer narrows it to the objects of its node.
func NodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Checking API access; these creates do not mutate.
		allow("create").groups(authenticationGroup).resources("tokenreviews").build(),
		allow("create").groups(authorizationGroup).resources("subjectaccessreviews", "localsubjectaccessreviews").build(),
		// Service environment variables.
		allow(read...).groups(legacyGroup).resources("services").build(),
		// Registering the Node and reporting its status (NodeRestriction limits
		// a node to its own object).
		allow("create", "get", "list", "watch").groups(legacyGroup).resources("nodes").build(),
		allow("update", "patch").groups(legacyGroup).resources("nodes/status").build(),
		allow("update", "patch").groups(legacyGroup).resources("nodes").build(),
		allow("create", "update", "patch").groups(legacyGroup, eventsGroup).resources("events").build(),
		// Pods of the node, mirror pods, their status and evictions.
		allow(read...).groups(legacyGroup).resources("pods").build(),
		allow("create", "delete").groups(legacyGroup).resources("pods").build(),
		allow("update", "patch").groups(legacyGroup).resources("pods/status").build(),
		allow("create").groups(legacyGroup).resources("pods/eviction").build(),
		// Secrets and config maps for volumes, env and image pulls.
		allow("get", "list", "watch").groups(legacyGroup).resources("secrets", "configmaps").build(),
		// Persistent volumes.
		allow("get").groups(legacyGroup).resources("persistentvolumeclaims", "persistentvolumes").build(),
		// glusterfs volumes.
		allow("get").groups(legacyGroup).resources("endpoints").build(),
		// Rotating the kubelet's own client certificate.
		allow("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests").build(),
		allow("get", "create", "update", "patch", "delete").groups(coordinationGroup).resources("leases").build(),
		allow("get").groups(storageGroup).resources("volumeattachments").build(),
		// Tokens for service accounts of the node's pods.
		allow("create").groups(legacyGroup).resources("serviceaccounts/token").build(),
		allow("get", "update", "patch").groups(legacyGroup).resources("persistentvolumeclaims/status").build(),
		allow("get", "watch", "list").groups(storageGroup).resources("csidrivers").build(),
		allow("get", "create", "update", "patch", "delete").groups(storageGroup).resources("csinodes").build(),
		allow("get", "list", "watch").groups(nodeGroup).resources("runtimeclasses").build(),
		// ClusterTrustBundle projected volumes.
		allow("get", "list", "watch").groups(certificatesGroup).resources("clustertrustbundles").build(),
		// podCertificate projected volumes (the Node authorizer and
		// NodeRestriction limit them to the node's pods).
		allow("get", "list", "watch", "create").groups(certificatesGroup).resources("podcertificaterequests").build(),
		// DynamicResourceAllocation.
		allow("get").groups(resourceGroup).resources("resourceclaims").build(),
		allow("deletecollection").groups(resourceGroup).resources("resourceslices").build(),
		// Service account tokens for image credential providers
		// (KubeletServiceAccountTokenForCredentialProviders).
		allow("get").groups(legacyGroup).resources("serviceaccounts").build(),
	}
}

func kubeSchedulerRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		eventsRule(),
		// Leader election.
		allow("create").groups(coordinationGroup).resources("leases").build(),
		allow("get", "update", "list", "watch").groups(coordinationGroup).resources("leases").names("kube-scheduler").build(),
		allow(readWrite...).groups(coordinationGroup).resources("leasecandidates").build(),
		// Fundamental resources.
		allow(read...).groups(legacyGroup).resources("nodes").build(),
		allow("get", "list", "watch", "delete").groups(legacyGroup).resources("pods").build(),
		allow("create").groups(legacyGroup).resources("pods/binding", "bindings").build(),
		allow("patch", "update").groups(legacyGroup).resources("pods/status").build(),
		// What selects pods.
		allow(read...).groups(legacyGroup).resources("services", "replicationcontrollers").build(),
		allow(read...).groups(appsGroup, extensionsGroup).resources("replicasets").build(),
		allow(read...).groups(appsGroup).resources("statefulsets").build(),
		// What pods use or what applies to them.
		allow(read...).groups(policyGroup).resources("poddisruptionbudgets").build(),
		allow(read...).groups(legacyGroup).resources("persistentvolumeclaims", "persistentvolumes").build(),
		allow("create").groups(authenticationGroup).resources("tokenreviews").build(),
		allow("create").groups(authorizationGroup).resources("subjectaccessreviews").build(),
		allow(read...).groups(storageGroup).resources("csinodes").build(),
		allow("get", "list", "watch").groups(storageGroup).resources("volumeattachments").build(),
		// namespaceSelector in pod affinity.
		allow(read...).groups(legacyGroup).resources("namespaces").build(),
		allow(read...).groups(storageGroup).resources("csidrivers").build(),
		allow(read...).groups(storageGroup).resources("csistoragecapacities").build(),
		// DynamicResourceAllocation.
		allow(read...).groups(resourceGroup).resources("deviceclasses").build(),
		allow(readUpdate...).groups(resourceGroup).resources("resourceclaims").build(),
		allow(readUpdate...).groups(resourceGroup).resources("resourceclaims/status").build(),
		allow("update").groups(legacyGroup).resources("pods/finalizers").build(),
		allow(read...).groups(resourceGroup).resources("resourceslices").build(),
		allow(read...).groups(resourceGroup).resources("devicetaintrules").build(),                 // DRADeviceTaintRules
		allow("create", "delete").groups(resourceGroup).resources("resourceclaims").build(),        // DRAExtendedResource
		allow("update", "patch").groups(resourceGroup).resources("resourceclaims/binding").build(), // DRAResourceClaimGranularStatusAuthorization
	}
}

func defaultClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	return []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", groupSubject(user.SystemPrivilegedGroup)),
		clusterRoleBinding("system:monitoring", groupSubject(user.MonitoringGroup)),
		clusterRoleBinding("system:discovery", groupSubject(user.AllAuthenticated)),
		clusterRoleBinding("system:basic-user", groupSubject(user.AllAuthenticated)),
		clusterRoleBinding("system:public-info-viewer", groupSubject(user.AllAuthenticated), groupSubject(user.AllUnauthenticated)),
		clusterRoleBinding("system:node-proxier", userSubject(user.KubeProxy)),
		clusterRoleBinding("system:kube-controller-manager", userSubject(user.KubeControllerManager)),
		clusterRoleBinding("system:kube-dns", serviceAccountSubject(metav1.NamespaceSystem, "kube-dns")),
		clusterRoleBinding("system:kube-scheduler", userSubject(user.KubeScheduler)),
		clusterRoleBinding("system:volume-scheduler", userSubject(user.KubeScheduler)),
		// Binding system:node to the system:nodes group is deprecated since the
		// Node authorizer; the binding stays, with no subjects.
		clusterRoleBinding(systemNodeRoleName),
		// Every service account may read the OIDC discovery documents of the
		// issuer that signs its tokens.
		clusterRoleBinding("system:service-account-issuer-discovery", groupSubject(serviceaccount.AllServiceAccountsGroup)),
		clusterRoleBinding("system:cluster-trust-bundle-discovery", groupSubject(serviceaccount.AllServiceAccountsGroup)),
	}
}
