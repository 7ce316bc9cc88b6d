package rbacpolicy

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/apiserver/authz/rbac"
	"github.com/skiff-dev/skiff/apiserver/authz/signerauthz"
)

// policyAuthorizer evaluates the bootstrap policy, plus extra RoleBindings
// and ClusterRoleBindings, with Skiff's RBAC authorizer.
func policyAuthorizer(t *testing.T, extra ...any) *rbac.Authorizer {
	t.Helper()
	newIndexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	roles, roleBindings, clusterRoles, clusterRoleBindings := newIndexer(), newIndexer(), newIndexer(), newIndexer()
	add := func(indexer cache.Indexer, obj any) {
		if err := indexer.Add(obj); err != nil {
			t.Fatalf("add %T: %v", obj, err)
		}
	}
	for _, r := range ClusterRoles() {
		add(clusterRoles, &r)
	}
	for _, b := range ClusterRoleBindings() {
		add(clusterRoleBindings, &b)
	}
	for _, r := range Roles() {
		add(roles, &r)
	}
	for _, b := range RoleBindings() {
		add(roleBindings, &b)
	}
	for _, e := range extra {
		switch b := e.(type) {
		case rbacv1.RoleBinding:
			add(roleBindings, &b)
		case rbacv1.ClusterRoleBinding:
			add(clusterRoleBindings, &b)
		default:
			t.Fatalf("extra binding of type %T", e)
		}
	}
	return rbac.New(
		rbaclisters.NewRoleLister(roles),
		rbaclisters.NewRoleBindingLister(roleBindings),
		rbaclisters.NewClusterRoleLister(clusterRoles),
		rbaclisters.NewClusterRoleBindingLister(clusterRoleBindings),
	)
}

func bindClusterRole(namespace, clusterRole, userName string) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: userName + "-" + clusterRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: userName}},
	}
}

func TestPolicyAuthorizes(t *testing.T) {
	a := policyAuthorizer(t,
		bindClusterRole("ns1", "admin", "ns-admin"),
		bindClusterRole("ns1", "edit", "editor"),
		bindClusterRole("ns1", "view", "viewer"),
	)
	var (
		anonymous  = &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}}
		someone    = &user.DefaultInfo{Name: "someone", Groups: []string{user.AllAuthenticated}}
		master     = &user.DefaultInfo{Name: "root", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}}
		monitor    = &user.DefaultInfo{Name: "prometheus", Groups: []string{user.MonitoringGroup, user.AllAuthenticated}}
		workload   = &user.DefaultInfo{Name: "system:serviceaccount:ns1:default", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1", user.AllAuthenticated}}
		nsAdmin    = &user.DefaultInfo{Name: "ns-admin", Groups: []string{user.AllAuthenticated}}
		editor     = &user.DefaultInfo{Name: "editor", Groups: []string{user.AllAuthenticated}}
		viewer     = &user.DefaultInfo{Name: "viewer", Groups: []string{user.AllAuthenticated}}
		scheduler  = &user.DefaultInfo{Name: user.KubeScheduler, Groups: []string{user.AllAuthenticated}}
		deployCtrl = &user.DefaultInfo{Name: "system:serviceaccount:kube-system:deployment-controller", Groups: []string{"system:serviceaccounts", user.AllAuthenticated}}
	)
	path := func(u user.Info, p string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: "get", Path: p}
	}
	res := func(u user.Info, verb, namespace, group, resource, subresource string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: verb, Namespace: namespace, APIGroup: group, Resource: resource, Subresource: subresource, Name: "x", ResourceRequest: true}
	}

	tests := []struct {
		name  string
		attrs authorizer.AttributesRecord
		allow bool
	}{
		{name: "anonymous /healthz", attrs: path(anonymous, "/healthz"), allow: true},
		{name: "anonymous /readyz", attrs: path(anonymous, "/readyz"), allow: true},
		{name: "anonymous /version", attrs: path(anonymous, "/version"), allow: true},
		{name: "anonymous /api", attrs: path(anonymous, "/api"), allow: false},
		{name: "anonymous /healthz/etcd", attrs: path(anonymous, "/healthz/etcd"), allow: false},
		{name: "authenticated /api", attrs: path(someone, "/api"), allow: true},
		{name: "authenticated /apis/apps/v1", attrs: path(someone, "/apis/apps/v1"), allow: true},
		{name: "authenticated /openapi/v3", attrs: path(someone, "/openapi/v3"), allow: true},
		{name: "authenticated /metrics", attrs: path(someone, "/metrics"), allow: false},
		{name: "authenticated selfsubjectaccessreviews", attrs: res(someone, "create", "", "authorization.k8s.io", "selfsubjectaccessreviews", ""), allow: true},
		{name: "authenticated selfsubjectreviews", attrs: res(someone, "create", "", "authentication.k8s.io", "selfsubjectreviews", ""), allow: true},
		{name: "authenticated list pods", attrs: res(someone, "list", "ns1", "", "pods", ""), allow: false},
		{name: "monitoring /metrics", attrs: path(monitor, "/metrics"), allow: true},
		{name: "monitoring /healthz/etcd", attrs: path(monitor, "/healthz/etcd"), allow: true},
		{name: "service account OIDC keys", attrs: path(workload, "/openid/v1/jwks"), allow: true},
		{name: "system:masters anything", attrs: res(master, "delete", "", "", "nodes", ""), allow: true},
		{name: "system:masters any URL", attrs: path(master, "/debug/pprof"), allow: true},
		{name: "admin creates rolebindings", attrs: res(nsAdmin, "create", "ns1", "rbac.authorization.k8s.io", "rolebindings", ""), allow: true},
		{name: "admin local subject access reviews", attrs: res(nsAdmin, "create", "ns1", "authorization.k8s.io", "localsubjectaccessreviews", ""), allow: true},
		{name: "admin reads secrets", attrs: res(nsAdmin, "get", "ns1", "", "secrets", ""), allow: true},
		{name: "admin execs into pods", attrs: res(nsAdmin, "create", "ns1", "", "pods", "exec"), allow: true},
		{name: "admin reads quota", attrs: res(nsAdmin, "get", "ns1", "", "resourcequotas", ""), allow: true},
		{name: "admin cannot write quota", attrs: res(nsAdmin, "update", "ns1", "", "resourcequotas", ""), allow: false},
		{name: "admin only in its namespace", attrs: res(nsAdmin, "create", "ns2", "rbac.authorization.k8s.io", "rolebindings", ""), allow: false},
		{name: "admin cannot read nodes", attrs: res(nsAdmin, "get", "", "", "nodes", ""), allow: false},
		{name: "edit writes deployments", attrs: res(editor, "patch", "ns1", "apps", "deployments", ""), allow: true},
		{name: "edit scales deployments", attrs: res(editor, "update", "ns1", "apps", "deployments", "scale"), allow: true},
		{name: "edit reads secrets", attrs: res(editor, "get", "ns1", "", "secrets", ""), allow: true},
		{name: "edit writes leases", attrs: res(editor, "create", "ns1", "coordination.k8s.io", "leases", ""), allow: true},
		{name: "edit cannot write roles", attrs: res(editor, "create", "ns1", "rbac.authorization.k8s.io", "roles", ""), allow: false},
		{name: "edit cannot write pod status", attrs: res(editor, "update", "ns1", "", "pods", "status"), allow: false},
		{name: "view lists pods", attrs: res(viewer, "list", "ns1", "", "pods", ""), allow: true},
		{name: "view reads pod logs", attrs: res(viewer, "get", "ns1", "", "pods", "log"), allow: true},
		{name: "view reads events.k8s.io events", attrs: res(viewer, "watch", "ns1", "events.k8s.io", "events", ""), allow: true},
		{name: "view cannot read secrets", attrs: res(viewer, "get", "ns1", "", "secrets", ""), allow: false},
		{name: "view cannot create pods", attrs: res(viewer, "create", "ns1", "", "pods", ""), allow: false},
		{name: "scheduler binds pods", attrs: res(scheduler, "create", "ns1", "", "pods", "binding"), allow: true},
		{name: "scheduler leader election in kube-system", attrs: res(scheduler, "update", "kube-system", "coordination.k8s.io", "leases", ""), allow: true},
		{name: "deployment controller updates status", attrs: res(deployCtrl, "update", "ns1", "apps", "deployments", "status"), allow: true},
		{name: "deployment controller cannot delete pods", attrs: res(deployCtrl, "delete", "ns1", "", "pods", ""), allow: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			decision, reason, err := a.Authorize(context.Background(), tc.attrs)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if got := decision == authorizer.DecisionAllow; got != tc.allow {
				t.Errorf("allowed = %v (reason %q), want %v", got, reason, tc.allow)
			}
		})
	}
}

// TestCertificateSignerPermissions checks, as the CertificateApproval and
// CertificateSigning admission plugins ask, the approve and sign grants of
// upstream's bootstrap policy: the certificate controller approves kubelet
// client requests and signs for the four kubernetes.io signers it serves;
// the signer approver roles approve for their signer only.
func TestCertificateSignerPermissions(t *testing.T) {
	a := policyAuthorizer(t, rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "serving-approver"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:certificates.k8s.io:kubelet-serving-approver"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "approver"}},
	})
	ctrl := &user.DefaultInfo{Name: "system:serviceaccount:kube-system:certificate-controller", Groups: []string{"system:serviceaccounts", user.AllAuthenticated}}
	approver := &user.DefaultInfo{Name: "approver", Groups: []string{user.AllAuthenticated}}
	someone := &user.DefaultInfo{Name: "someone", Groups: []string{user.AllAuthenticated}}
	tests := []struct {
		user         user.Info
		verb, signer string
		allow        bool
	}{
		{ctrl, "approve", certificatesv1.KubeAPIServerClientKubeletSignerName, true},
		{ctrl, "approve", certificatesv1.KubeAPIServerClientSignerName, false},
		{ctrl, "approve", certificatesv1.KubeletServingSignerName, false},
		{ctrl, "sign", certificatesv1.KubeAPIServerClientKubeletSignerName, true},
		{ctrl, "sign", certificatesv1.KubeAPIServerClientSignerName, true},
		{ctrl, "sign", certificatesv1.KubeletServingSignerName, true},
		{ctrl, "sign", "kubernetes.io/legacy-unknown", true},
		{ctrl, "sign", "example.com/foo", false},
		{approver, "approve", certificatesv1.KubeletServingSignerName, true},
		{approver, "approve", certificatesv1.KubeAPIServerClientSignerName, false},
		{approver, "sign", certificatesv1.KubeletServingSignerName, false},
		{someone, "approve", certificatesv1.KubeAPIServerClientKubeletSignerName, false},
		{someone, "sign", certificatesv1.KubeAPIServerClientKubeletSignerName, false},
	}
	for _, tc := range tests {
		t.Run(tc.user.GetName()+" "+tc.verb+" "+tc.signer, func(t *testing.T) {
			if got := signerauthz.Allowed(context.Background(), a, tc.user, tc.verb, tc.signer); got != tc.allow {
				t.Errorf("allowed = %v, want %v", got, tc.allow)
			}
		})
	}
}
