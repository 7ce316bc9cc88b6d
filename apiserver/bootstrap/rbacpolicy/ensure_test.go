package rbacpolicy_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/skiff-dev/skiff/apiserver/bootstrap/rbacpolicy"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// requestLog counts the RBAC requests a client makes, by verb, and can run
// a function once, after the first response to a request it matches (to
// change the server's state between Ensure's LIST and its writes).
type requestLog struct {
	mu    sync.Mutex
	verbs map[string]int
	after func(r *http.Request) bool
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		if !strings.Contains(r.URL.Path, "/apis/rbac.authorization.k8s.io/") {
			return resp, err
		}
		verb := r.Method
		if r.Method == http.MethodGet && isList(r.URL.Path) {
			verb = "LIST"
		}
		l.mu.Lock()
		l.verbs[verb]++
		after := l.after
		if after != nil && after(r) {
			l.after = nil
		}
		l.mu.Unlock()
		return resp, err
	})
}

func (l *requestLog) reset() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := l.verbs
	l.verbs = map[string]int{}
	return v
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// isList tells a collection path (.../clusterroles, .../namespaces/x/roles)
// from an object's.
func isList(path string) bool {
	last := path[strings.LastIndex(path, "/")+1:]
	switch last {
	case "clusterroles", "clusterrolebindings", "roles", "rolebindings":
		return true
	}
	return false
}

// TestEnsureAgainstServer runs Ensure against a real server whose
// rbac/bootstrap-roles hook has already run: it repairs what was changed as
// upstream's reconcile does (adds, never removes; leaves autoupdate=false
// objects alone; recreates a binding whose roleRef differs), reads the
// objects with one LIST per kind and no GET each, and copes with a list
// made stale by concurrent writers.
func TestEnsureAgainstServer(t *testing.T) {
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ts.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	admin := ts.Client()
	rbac := admin.RbacV1()
	log := &requestLog{verbs: map[string]int{}}
	cfg := rest.CopyConfig(ts.Config)
	cfg.Wrap(log.wrap)
	client := kubernetes.NewForConfigOrDie(cfg)

	// The hook's pass left every bootstrap object in place.
	for _, want := range rbacpolicy.ClusterRoles() {
		if _, err := rbac.ClusterRoles().Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("after start: ClusterRole %s: %v", want.Name, err)
		}
	}
	for _, want := range rbacpolicy.ClusterRoleBindings() {
		if _, err := rbac.ClusterRoleBindings().Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("after start: ClusterRoleBinding %s: %v", want.Name, err)
		}
	}
	for _, want := range rbacpolicy.Roles() {
		if _, err := rbac.Roles(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("after start: Role %s/%s: %v", want.Namespace, want.Name, err)
		}
	}
	for _, want := range rbacpolicy.RoleBindings() {
		if _, err := rbac.RoleBindings(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("after start: RoleBinding %s/%s: %v", want.Namespace, want.Name, err)
		}
	}

	// Nothing to do: four LISTs, no GET, no write.
	log.reset()
	if err := rbacpolicy.Ensure(ctx, client); err != nil {
		t.Fatalf("Ensure on an up-to-date server: %v", err)
	}
	if got, want := log.reset(), map[string]int{"LIST": 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("Ensure on an up-to-date server made requests %v, want %v", got, want)
	}

	wantCR := func(name string) rbacv1.ClusterRole {
		for _, r := range rbacpolicy.ClusterRoles() {
			if r.Name == name {
				return r
			}
		}
		t.Fatalf("no bootstrap ClusterRole %s", name)
		return rbacv1.ClusterRole{}
	}
	extraRule := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}

	// Changes, then what Ensure must leave.
	updateCR := func(name string, edit func(*rbacv1.ClusterRole)) error {
		r, err := rbac.ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(r)
		_, err = rbac.ClusterRoles().Update(ctx, r, metav1.UpdateOptions{})
		return err
	}
	mustUpdateCR := func(name string, edit func(*rbacv1.ClusterRole)) {
		if err := updateCR(name, edit); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted: recreated.
	if err := rbac.ClusterRoles().Delete(ctx, "system:basic-user", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Rules stripped and one added: the bootstrap rules come back, the extra stays.
	mustUpdateCR("system:discovery", func(r *rbacv1.ClusterRole) { r.Rules = []rbacv1.PolicyRule{extraRule} })
	// Protected: left as changed.
	mustUpdateCR("system:public-info-viewer", func(r *rbacv1.ClusterRole) {
		r.Annotations[rbacv1.AutoUpdateAnnotationKey] = "false"
		r.Rules = []rbacv1.PolicyRule{extraRule}
	})
	// A binding whose roleRef differs: recreated with the bootstrap roleRef.
	if err := rbac.ClusterRoleBindings().Delete(ctx, "system:basic-user", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "system:basic-user", Annotations: map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "someone"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A namespaced binding that lost its subjects: they come back.
	rbName := rbacpolicy.RoleBindings()[0]
	rb, err := rbac.RoleBindings(rbName.Namespace).Get(ctx, rbName.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rb.Subjects = nil
	if _, err := rbac.RoleBindings(rb.Namespace).Update(ctx, rb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Two more lose their rules, and the list goes stale at once: after
	// Ensure's LIST of ClusterRoles another writer deletes system:monitoring
	// (Ensure's update meets NotFound and creates it) and adds a rule to
	// system:service-account-issuer-discovery (Ensure's update meets a
	// Conflict and reconciles the live object).
	mustUpdateCR("system:monitoring", func(r *rbacv1.ClusterRole) { r.Rules = nil })
	mustUpdateCR("system:service-account-issuer-discovery", func(r *rbacv1.ClusterRole) { r.Rules = nil })
	log.after = func(r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/clusterroles") || r.Method != http.MethodGet {
			return false
		}
		if err := rbac.ClusterRoles().Delete(ctx, "system:monitoring", metav1.DeleteOptions{}); err != nil {
			t.Errorf("stale-list writer: %v", err)
		}
		if err := updateCR("system:service-account-issuer-discovery", func(r *rbacv1.ClusterRole) { r.Rules = []rbacv1.PolicyRule{extraRule} }); err != nil {
			t.Errorf("stale-list writer: %v", err)
		}
		return true
	}
	log.reset()
	if err := rbacpolicy.Ensure(ctx, client); err != nil {
		t.Fatalf("Ensure after changes: %v", err)
	}
	verbs := log.reset()
	if verbs["LIST"] != 4 {
		t.Errorf("Ensure made %d LISTs, want 4 (%v)", verbs["LIST"], verbs)
	}
	// GETs are only those of the retries after the stale list: one for
	// each object the other writer changed.
	if verbs[http.MethodGet] != 2 {
		t.Errorf("Ensure made %d GETs, want 2, for the objects changed after its LIST (%v)", verbs[http.MethodGet], verbs)
	}

	for _, name := range []string{"system:basic-user", "system:monitoring"} {
		got, err := rbac.ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("ClusterRole %s: %v", name, err)
			continue
		}
		if want := wantCR(name).Rules; !reflect.DeepEqual(got.Rules, want) {
			t.Errorf("ClusterRole %s rules = %v, want %v", name, got.Rules, want)
		}
	}
	for _, name := range []string{"system:discovery", "system:service-account-issuer-discovery"} {
		got, err := rbac.ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantKeptAndAdded(t, name, got.Rules, extraRule, wantCR(name).Rules)
	}
	piv, err := rbac.ClusterRoles().Get(ctx, "system:public-info-viewer", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []rbacv1.PolicyRule{extraRule}; !reflect.DeepEqual(piv.Rules, want) {
		t.Errorf("autoupdate=false system:public-info-viewer rules = %v, want it left at %v", piv.Rules, want)
	}
	crb, err := rbac.ClusterRoleBindings().Get(ctx, "system:basic-user", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if crb.RoleRef.Name != "system:basic-user" {
		t.Errorf("ClusterRoleBinding system:basic-user roleRef = %+v, want it recreated with ClusterRole system:basic-user", crb.RoleRef)
	}
	rb, err = rbac.RoleBindings(rbName.Namespace).Get(ctx, rbName.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rb.Subjects, rbName.Subjects) {
		t.Errorf("RoleBinding %s/%s subjects = %v, want %v", rb.Namespace, rb.Name, rb.Subjects, rbName.Subjects)
	}

	// A ClusterRole created by someone else after the LIST (Ensure's
	// create meets AlreadyExists and reconciles the live object).
	if err := rbac.ClusterRoles().Delete(ctx, "system:basic-user", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	log.after = func(r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/clusterroles") || r.Method != http.MethodGet {
			return false
		}
		_, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "system:basic-user"},
			Rules:      []rbacv1.PolicyRule{extraRule},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Errorf("stale-list writer: %v", err)
		}
		return true
	}
	if err := rbacpolicy.Ensure(ctx, client); err != nil {
		t.Fatalf("Ensure with a ClusterRole created after its LIST: %v", err)
	}
	got, err := rbac.ClusterRoles().Get(ctx, "system:basic-user", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantKeptAndAdded(t, "system:basic-user", got.Rules, extraRule, wantCR("system:basic-user").Rules)
	if _, err := rbac.ClusterRoles().Get(ctx, "no-such-role", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Ensure created objects outside the policy? GET no-such-role: %v", err)
	}
}

// wantKeptAndAdded checks that a reconciled role kept the rule another
// writer gave it first and gained rules covering the bootstrap ones (the
// reconciler adds the missing rules broken down, one per resource or URL).
func wantKeptAndAdded(t *testing.T, name string, got []rbacv1.PolicyRule, kept rbacv1.PolicyRule, bootstrap []rbacv1.PolicyRule) {
	t.Helper()
	if len(got) == 0 || !reflect.DeepEqual(got[0], kept) {
		t.Errorf("%s rules = %v, want %v kept first", name, got, kept)
	}
	if ok, missing := validation.Covers(got, bootstrap); !ok {
		t.Errorf("%s rules = %v, missing bootstrap rules %v", name, got, missing)
	}
}
