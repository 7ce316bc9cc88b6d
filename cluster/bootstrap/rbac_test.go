package bootstrap

import (
	"context"
	"fmt"
	"os"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

var client kubernetes.Interface

func TestMain(m *testing.M) {
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start API server:", err)
		os.Exit(1)
	}
	client = ts.Client()
	code := m.Run()
	if err := ts.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop API server:", err)
	}
	os.Exit(code)
}

func allowed(t *testing.T, user string, groups []string, ra authorizationv1.ResourceAttributes) bool {
	t.Helper()
	sar, err := client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: &ra},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

func TestEnsureJoinRBAC(t *testing.T) {
	ctx := context.Background()
	node := []string{"system:nodes", "system:authenticated"}
	bootstrapper := []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"}
	checks := []struct {
		name   string
		user   string
		groups []string
		ra     authorizationv1.ResourceAttributes
	}{
		{"bootstrapper creates CSRs", "system:bootstrap:abcdef", bootstrapper,
			authorizationv1.ResourceAttributes{Verb: "create", Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}},
		{"bootstrapper's CSRs are nodeclient", "system:bootstrap:abcdef", bootstrapper,
			authorizationv1.ResourceAttributes{Verb: "create", Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "nodeclient"}},
		{"node renews as selfnodeclient", "system:node:n1", node,
			authorizationv1.ResourceAttributes{Verb: "create", Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "selfnodeclient"}},
		{"node's proxy lists endpointslices", "system:node:n1", node,
			authorizationv1.ResourceAttributes{Verb: "list", Group: "discovery.k8s.io", Resource: "endpointslices"}},
		{"node's proxy watches services", "system:node:n1", node,
			authorizationv1.ResourceAttributes{Verb: "watch", Resource: "services"}},
		{"node's routes watch all nodes", "system:node:n1", node,
			authorizationv1.ResourceAttributes{Verb: "watch", Resource: "nodes"}},
	}
	for _, c := range checks {
		if allowed(t, c.user, c.groups, c.ra) {
			t.Fatalf("%s: allowed before EnsureJoinRBAC: the test proves nothing", c.name)
		}
	}
	// Twice: it is idempotent. A stale binding of the name to another role
	// and a missing subject are repaired.
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: NodeProxierBinding},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:basic-user"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "someone"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := EnsureJoinRBAC(ctx, client); err != nil {
			t.Fatalf("EnsureJoinRBAC #%d: %v", i+1, err)
		}
	}
	for _, c := range checks {
		if !allowed(t, c.user, c.groups, c.ra) {
			t.Errorf("%s: not allowed after EnsureJoinRBAC", c.name)
		}
	}
	b, err := client.RbacV1().ClusterRoleBindings().Get(ctx, NodeProxierBinding, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.RoleRef.Name != "system:node-proxier" || len(b.Subjects) != 1 {
		t.Errorf("%s binds %s to %v", b.Name, b.RoleRef.Name, b.Subjects)
	}
	// Nothing beyond: a bootstrapper cannot read services.
	if allowed(t, "system:bootstrap:abcdef", bootstrapper, authorizationv1.ResourceAttributes{Verb: "list", Resource: "services"}) {
		t.Error("a bootstrap token may list services")
	}
}
