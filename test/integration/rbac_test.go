package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/certs"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// userClient returns a client authenticated by a client certificate the
// test server's CA signs for user (CN) in groups (O).
func userClient(t *testing.T, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	return userClientOf(t, server, user, groups...)
}

// userClientOf is userClient for the test server s.
func userClientOf(t *testing.T, s *testserver.TestServer, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	pki := filepath.Join(s.DataDir, "pki")
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "user.crt"), filepath.Join(dir, "user.key")
	if err := ca.EnsureClient(cert, key, user, groups); err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.CertFile, cfg.KeyFile = cert, key
	return kubernetes.NewForConfigOrDie(cfg)
}

func TestRBACEnforcesAndPreventsEscalation(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	adminClient := server.Client()
	alice := userClient(t, "alice")

	// A user with no roles can do nothing but discovery and self-reviews.
	if _, err := alice.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("roleless user listing configmaps: %v, want Forbidden", err)
	}
	if _, err := alice.Discovery().ServerGroups(); err != nil {
		t.Fatalf("roleless user discovery: %v", err)
	}

	// Alice may manage roles and bindings in ns and read configmaps there.
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "rbac-manager", Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}},
			{Verbs: []string{"create", "update", "get"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "rolebindings"}},
		},
	}
	if _, err := adminClient.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := adminClient.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "rbac-manager"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "alice"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The authorizer reads from informers: wait until the grant is seen.
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := alice.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatal("alice never got list on configmaps")
	}

	tests := []struct {
		name    string
		create  func() error
		wantErr string // "" means allowed
	}{
		{name: "role within her rules", create: func() error {
			_, err := alice.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
				Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}}}, metav1.CreateOptions{})
			return err
		}},
		{name: "role beyond her rules", create: func() error {
			_, err := alice.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "writer"},
				Rules: []rbacv1.PolicyRule{{Verbs: []string{"delete"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}}, metav1.CreateOptions{})
			return err
		}, wantErr: `is attempting to grant RBAC permissions not currently held`},
		{name: "binding a role she holds", create: func() error {
			// The escalation check resolves the role through the server's
			// informers, as upstream's does: retry until it has seen "reader".
			var err error
			_ = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
				_, err = alice.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-reader"},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
					Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "bob"}}}, metav1.CreateOptions{})
				return err == nil || !strings.Contains(err.Error(), `"reader" not found`), nil
			})
			return err
		}},
		{name: "binding cluster-admin", create: func() error {
			_, err := alice.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-admin"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "bob"}}}, metav1.CreateOptions{})
			return err
		}, wantErr: `is attempting to grant RBAC permissions not currently held`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.create()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want Forbidden containing %q", err, tt.wantErr)
			}
		})
	}

	// SelfSubjectRulesReview (kubectl auth can-i --list) reports her rules.
	rules, err := alice.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rules.Status.ResourceRules {
		if strings.Join(r.Resources, ",") == "configmaps" && strings.Contains(strings.Join(r.Verbs, ","), "list") {
			found = true
		}
	}
	if !found {
		t.Fatalf("rules review lacks list on configmaps: %+v", rules.Status.ResourceRules)
	}
}
