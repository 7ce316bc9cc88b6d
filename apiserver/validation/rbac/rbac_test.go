package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

var readPods = rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}

func role(rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader", Namespace: "apps", ResourceVersion: "1"}, Rules: rules}
}

func clusterRole(rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:pod-reader", ResourceVersion: "1"}, Rules: rules}
}

func TestValidateRole(t *testing.T) {
	tests := []struct {
		name string
		role *rbacv1.Role
		want []vt.Want
	}{
		{name: "valid", role: role(readPods, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"web"}})},
		{name: "no rules", role: role()},
		{name: "names need only be path segments", role: func() *rbacv1.Role { r := role(); r.Name = "Team:Reader"; return r }()},
		{
			name: "name may not be a path segment's dots or hold a slash",
			role: func() *rbacv1.Role { r := role(); r.Name = "a/b%c"; return r }(),
			want: []vt.Want{vt.Invalid("metadata.name", "may not contain '/'"), vt.Invalid("metadata.name", "may not contain '%'")},
		},
		{
			name: "name may not be ..",
			role: func() *rbacv1.Role { r := role(); r.Name = ".."; return r }(),
			want: []vt.Want{vt.Invalid("metadata.name", "may not be '..'")},
		},
		{
			name: "namespace required",
			role: func() *rbacv1.Role { r := role(); r.Namespace = ""; return r }(),
			want: []vt.Want{vt.Required("metadata.namespace", "")},
		},
		{
			name: "rule without verbs, groups or resources",
			role: role(readPods, rbacv1.PolicyRule{}),
			want: []vt.Want{
				vt.Required("rules[1].verbs", "verbs must contain at least one value"),
				vt.Required("rules[1].apiGroups", "resource rules must supply at least one api group"),
				vt.Required("rules[1].resources", "resource rules must supply at least one resource"),
			},
		},
		{
			name: "resource names over several resources are allowed",
			role: role(rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods", "secrets"}, ResourceNames: []string{"x"}}),
		},
		{
			name: "namespaced rules have no non-resource URLs",
			role: role(rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}),
			want: []vt.Want{vt.Invalid("rules[0].nonResourceURLs", "namespaced rules cannot apply to non-resource URLs")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateRole(tt.role), tt.want...)
		})
	}
}

func TestValidateRoleUpdate(t *testing.T) {
	old := role(readPods)
	vt.Expect(t, ValidateRoleUpdate(role(), old))
	renamed := role(rbacv1.PolicyRule{})
	renamed.Name = "other"
	vt.Expect(t, ValidateRoleUpdate(renamed, old),
		vt.Required("rules[0].verbs", ""),
		vt.Required("rules[0].apiGroups", ""),
		vt.Required("rules[0].resources", ""),
		vt.Invalid("metadata.name", "field is immutable"),
	)
}

func TestValidateClusterRole(t *testing.T) {
	aggregate := func(selectors ...metav1.LabelSelector) *rbacv1.ClusterRole {
		r := clusterRole()
		r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: selectors}
		return r
	}
	tests := []struct {
		name string
		role *rbacv1.ClusterRole
		want []vt.Want
	}{
		{name: "valid", role: clusterRole(readPods, rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/version"}})},
		{name: "aggregated", role: aggregate(metav1.LabelSelector{MatchLabels: map[string]string{"rbac.example.com/aggregate-to-view": "true"}})},
		{
			name: "namespace forbidden",
			role: func() *rbacv1.ClusterRole { r := clusterRole(); r.Namespace = "apps"; return r }(),
			want: []vt.Want{vt.Forbidden("metadata.namespace", "not allowed on this type")},
		},
		{
			name: "non-resource URLs with resources",
			role: clusterRole(rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, Resources: []string{"pods"}}),
			want: []vt.Want{vt.Invalid("rules[0].nonResourceURLs", "rules cannot apply to both regular resources and non-resource URLs")},
		},
		{
			name: "aggregation rule without selectors",
			role: aggregate(),
			want: []vt.Want{vt.Required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil")},
		},
		{
			name: "aggregation selector with a bad label value",
			role: aggregate(metav1.LabelSelector{MatchLabels: map[string]string{"tier": "not valid"}}),
			want: []vt.Want{
				vt.Invalid("aggregationRule.clusterRoleSelectors[0].matchLabels", "a valid label must be an empty string or consist of"),
				vt.Invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector."),
			},
		},
		{
			name: "aggregation selector with a bad operator",
			role: aggregate(metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}),
			want: []vt.Want{
				vt.Invalid("aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator", "not a valid selector operator"),
				vt.Invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector."),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateClusterRole(tt.role), tt.want...)
		})
	}
}

func TestValidateClusterRoleUpdate(t *testing.T) {
	withSelector := func(value string) *rbacv1.ClusterRole {
		r := clusterRole()
		r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{value}}},
		}}}
		return r
	}
	tests := []struct {
		name string
		role *rbacv1.ClusterRole
		old  *rbacv1.ClusterRole
		want []vt.Want
	}{
		{name: "rules change", role: clusterRole(readPods), old: clusterRole()},
		{
			// As upstream: only the value check is relaxed; the selector
			// still fails to parse.
			name: "a bad expression value is tolerated when the stored role had one",
			role: withSelector("still bad"),
			old:  withSelector("not valid"),
			want: []vt.Want{vt.Invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector.")},
		},
		{
			name: "a bad expression value is rejected when the stored role had none",
			role: withSelector("not valid"),
			old:  withSelector("web"),
			want: []vt.Want{
				vt.Invalid("aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values[0]", "a valid label must be"),
				vt.Invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector."),
			},
		},
		{
			name: "metadata update rules",
			role: func() *rbacv1.ClusterRole { r := clusterRole(); r.ResourceVersion = ""; return r }(),
			old:  clusterRole(),
			want: []vt.Want{vt.Invalid("metadata.resourceVersion", "must be specified for an update")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateClusterRoleUpdate(tt.role, tt.old), tt.want...)
		})
	}
}

var (
	viewRef   = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}
	readerRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"}
	alice     = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}
	admins    = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:masters"}
	bot       = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "build-bot", Namespace: "ci"}
)

func roleBinding(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read-pods", Namespace: "apps", ResourceVersion: "1"},
		RoleRef:    ref,
		Subjects:   subjects,
	}
}

func clusterRoleBinding(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "system:viewers", ResourceVersion: "1"},
		RoleRef:    ref,
		Subjects:   subjects,
	}
}

func TestValidateRoleBinding(t *testing.T) {
	tests := []struct {
		name    string
		binding *rbacv1.RoleBinding
		want    []vt.Want
	}{
		{name: "role", binding: roleBinding(readerRef, alice, admins, bot)},
		{name: "cluster role", binding: roleBinding(viewRef)},
		{name: "service account in the binding's namespace", binding: roleBinding(viewRef, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "default"})},
		{
			name:    "roleRef API group, kind and name",
			binding: roleBinding(rbacv1.RoleRef{APIGroup: "example.com", Kind: "Policy"}),
			want: []vt.Want{
				vt.NotSupported("roleRef.apiGroup", `supported values: "rbac.authorization.k8s.io"`),
				vt.NotSupported("roleRef.kind", `supported values: "Role", "ClusterRole"`),
				vt.Required("roleRef.name", ""),
			},
		},
		{
			name:    "roleRef name must be a path segment",
			binding: roleBinding(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "a/b"}),
			want:    []vt.Want{vt.Invalid("roleRef.name", "may not contain '/'")},
		},
		{
			name:    "subject kind",
			binding: roleBinding(viewRef, rbacv1.Subject{Kind: "Robot", Name: "r2"}),
			want:    []vt.Want{vt.NotSupported("subjects[0].kind", `supported values: "ServiceAccount", "User", "Group"`)},
		},
		{
			name:    "subject name required",
			binding: roleBinding(viewRef, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName}),
			want:    []vt.Want{vt.Required("subjects[0].name", "")},
		},
		{
			name: "subject API groups",
			binding: roleBinding(viewRef,
				rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"},
				rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: "example.com", Name: "admins"},
				rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, APIGroup: rbacv1.GroupName, Name: "bot"},
			),
			want: []vt.Want{
				vt.NotSupported("subjects[0].apiGroup", `supported values: "rbac.authorization.k8s.io"`),
				vt.NotSupported("subjects[1].apiGroup", `supported values: "rbac.authorization.k8s.io"`),
				vt.NotSupported("subjects[2].apiGroup", `supported values: ""`),
			},
		},
		{
			name:    "service account name must be a DNS subdomain",
			binding: roleBinding(viewRef, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "Build_Bot"}),
			want:    []vt.Want{vt.Invalid("subjects[0].name", "a lowercase RFC 1123 subdomain")},
		},
		{
			name:    "users and groups may have any name",
			binding: roleBinding(viewRef, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "Alice Smith <alice@example.com>"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateRoleBinding(tt.binding), tt.want...)
		})
	}
}

func TestValidateRoleBindingUpdate(t *testing.T) {
	old := roleBinding(readerRef, alice)
	tests := []struct {
		name    string
		binding *rbacv1.RoleBinding
		want    []vt.Want
	}{
		{name: "subjects change", binding: roleBinding(readerRef, alice, bot)},
		{
			name:    "roleRef change",
			binding: roleBinding(viewRef, alice),
			want:    []vt.Want{vt.Invalid("roleRef", "cannot change roleRef")},
		},
		{
			name:    "create rules apply",
			binding: roleBinding(readerRef, rbacv1.Subject{Kind: "Robot", Name: "r2"}),
			want:    []vt.Want{vt.NotSupported("subjects[0].kind", "")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateRoleBindingUpdate(tt.binding, old), tt.want...)
		})
	}
}

func TestValidateClusterRoleBinding(t *testing.T) {
	tests := []struct {
		name    string
		binding *rbacv1.ClusterRoleBinding
		want    []vt.Want
	}{
		{name: "valid", binding: clusterRoleBinding(viewRef, alice, admins, bot)},
		{
			name:    "roleRef must be a ClusterRole",
			binding: clusterRoleBinding(readerRef),
			want:    []vt.Want{vt.NotSupported("roleRef.kind", `supported values: "ClusterRole"`)},
		},
		{
			name:    "service account needs a namespace",
			binding: clusterRoleBinding(viewRef, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "build-bot"}),
			want:    []vt.Want{vt.Required("subjects[0].namespace", "")},
		},
		{
			name:    "namespace forbidden",
			binding: func() *rbacv1.ClusterRoleBinding { b := clusterRoleBinding(viewRef); b.Namespace = "apps"; return b }(),
			want:    []vt.Want{vt.Forbidden("metadata.namespace", "not allowed on this type")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateClusterRoleBinding(tt.binding), tt.want...)
		})
	}
}

func TestValidateClusterRoleBindingUpdate(t *testing.T) {
	old := clusterRoleBinding(viewRef, alice)
	vt.Expect(t, ValidateClusterRoleBindingUpdate(clusterRoleBinding(viewRef, alice, admins), old))
	edit := viewRef
	edit.Name = "edit"
	vt.Expect(t, ValidateClusterRoleBindingUpdate(clusterRoleBinding(edit, alice), old), vt.Invalid("roleRef", "cannot change roleRef"))
}
