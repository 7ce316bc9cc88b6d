package rbacpolicy

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Roles returns the bootstrap Roles of kube-system and kube-public.
func Roles() []rbacv1.Role {
	leaderLocking := func(name string) rbacv1.Role {
		return namespacedRole(metav1.NamespaceSystem, name,
			allow("get", "watch", "list", "create", "update").groups(coordinationGroup).resources("leases").build(),
			allow("get", "watch", "list", "create", "update").groups(coordinationGroup).resources("leasecandidates").build(),
		)
	}
	return []rbacv1.Role{
		// Reading the authentication configuration a delegating server starts from.
		namespacedRole(metav1.NamespaceSystem, "extension-apiserver-authentication-reader",
			allow("get", "list", "watch").groups(legacyGroup).resources("configmaps").names("extension-apiserver-authentication").build(),
		),
		namespacedRole(metav1.NamespaceSystem, controllerRolePrefix+"bootstrap-signer",
			allow("get", "list", "watch").groups(legacyGroup).resources("secrets").build(),
		),
		// Deprecated since Kubernetes 1.10.
		namespacedRole(metav1.NamespaceSystem, controllerRolePrefix+"cloud-provider",
			allow("create", "get", "list", "watch").groups(legacyGroup).resources("configmaps").build(),
		),
		namespacedRole(metav1.NamespaceSystem, controllerRolePrefix+"token-cleaner",
			allow("get", "list", "watch", "delete").groups(legacyGroup).resources("secrets").build(),
			eventsRule(),
		),
		leaderLocking("system::leader-locking-kube-controller-manager"),
		leaderLocking("system::leader-locking-kube-scheduler"),
		// Publishing the cluster-info ConfigMap.
		namespacedRole(metav1.NamespacePublic, controllerRolePrefix+"bootstrap-signer",
			allow("get", "list", "watch").groups(legacyGroup).resources("configmaps").build(),
			allow("update").groups(legacyGroup).resources("configmaps").names("cluster-info").build(),
			eventsRule(),
		),
	}
}

// RoleBindings returns the bootstrap RoleBindings of kube-system and kube-public.
func RoleBindings() []rbacv1.RoleBinding {
	authReader := roleBinding(metav1.NamespaceSystem, "extension-apiserver-authentication-reader",
		userSubject(user.KubeControllerManager), userSubject(user.KubeScheduler))
	authReader.Name = "system::extension-apiserver-authentication-reader"
	return []rbacv1.RoleBinding{
		authReader,
		roleBinding(metav1.NamespaceSystem, "system::leader-locking-kube-controller-manager",
			userSubject(user.KubeControllerManager),
			serviceAccountSubject(metav1.NamespaceSystem, "kube-controller-manager"),
			serviceAccountSubject(metav1.NamespaceSystem, "leader-election-controller")),
		roleBinding(metav1.NamespaceSystem, "system::leader-locking-kube-scheduler",
			userSubject(user.KubeScheduler),
			serviceAccountSubject(metav1.NamespaceSystem, "kube-scheduler")),
		roleBinding(metav1.NamespaceSystem, controllerRolePrefix+"bootstrap-signer",
			serviceAccountSubject(metav1.NamespaceSystem, "bootstrap-signer")),
		roleBinding(metav1.NamespaceSystem, controllerRolePrefix+"cloud-provider",
			serviceAccountSubject(metav1.NamespaceSystem, "cloud-provider")),
		roleBinding(metav1.NamespaceSystem, controllerRolePrefix+"token-cleaner",
			serviceAccountSubject(metav1.NamespaceSystem, "token-cleaner")),
		roleBinding(metav1.NamespacePublic, controllerRolePrefix+"bootstrap-signer",
			serviceAccountSubject(metav1.NamespaceSystem, "bootstrap-signer")),
	}
}

func namespacedRole(namespace, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{
		ObjectMeta: bootstrapMeta(metav1.ObjectMeta{Namespace: namespace, Name: name}),
		Rules:      rules,
	}
}
