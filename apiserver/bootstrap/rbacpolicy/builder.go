package rbacpolicy

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// API groups named by the policy.
const (
	legacyGroup                = ""
	admissionRegistrationGroup = "admissionregistration.k8s.io"
	appsGroup                  = "apps"
	authenticationGroup        = "authentication.k8s.io"
	authorizationGroup         = "authorization.k8s.io"
	autoscalingGroup           = "autoscaling"
	batchGroup                 = "batch"
	certificatesGroup          = "certificates.k8s.io"
	coordinationGroup          = "coordination.k8s.io"
	customMetricsGroup         = "custom.metrics.k8s.io"
	discoveryGroup             = "discovery.k8s.io"
	eventsGroup                = "events.k8s.io"
	extensionsGroup            = "extensions"
	externalMetricsGroup       = "external.metrics.k8s.io"
	networkingGroup            = "networking.k8s.io"
	nodeGroup                  = "node.k8s.io"
	policyGroup                = "policy"
	rbacGroup                  = rbacv1.GroupName
	resourceGroup              = "resource.k8s.io"
	resourceMetricsGroup       = "metrics.k8s.io"
	schedulingGroup            = "scheduling.k8s.io"
	storageGroup               = "storage.k8s.io"
)

// Verb sets shared by many rules.
var (
	read       = []string{"get", "list", "watch"}
	write      = []string{"create", "update", "patch", "delete", "deletecollection"}
	readWrite  = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	readUpdate = []string{"get", "list", "watch", "update", "patch"}
)

const (
	// BootstrappingLabel is the label, with value "rbac-defaults", that every
	// bootstrap RBAC object carries.
	BootstrappingLabel = "kubernetes.io/bootstrapping"

	bootstrappingValue = "rbac-defaults"
)

// ruleBuilder assembles a PolicyRule the way upstream's policy does, so that
// stored rules compare equal to kube-apiserver's: every list is deduplicated
// and sorted.
type ruleBuilder struct {
	rule rbacv1.PolicyRule
}

func allow(verbs ...string) *ruleBuilder {
	return &ruleBuilder{rule: rbacv1.PolicyRule{Verbs: sortedSet(nil, verbs)}}
}

func (b *ruleBuilder) groups(groups ...string) *ruleBuilder {
	b.rule.APIGroups = sortedSet(b.rule.APIGroups, groups)
	return b
}

func (b *ruleBuilder) resources(resources ...string) *ruleBuilder {
	b.rule.Resources = sortedSet(b.rule.Resources, resources)
	return b
}

func (b *ruleBuilder) names(names ...string) *ruleBuilder {
	b.rule.ResourceNames = sortedSet(b.rule.ResourceNames, names)
	return b
}

func (b *ruleBuilder) urls(urls ...string) *ruleBuilder {
	b.rule.NonResourceURLs = sortedSet(b.rule.NonResourceURLs, urls)
	return b
}

func sortedSet(have, add []string) []string {
	return sets.List(sets.New(have...).Insert(add...))
}

// build returns the rule. It panics on a rule of no valid shape: the policy
// is static, so that is a programming error caught by the package's tests.
func (b *ruleBuilder) build() rbacv1.PolicyRule {
	r := b.rule
	switch {
	case len(r.Verbs) == 0:
		panic(fmt.Sprintf("rule %v: verbs are required", r))
	case len(r.NonResourceURLs) > 0 && (len(r.APIGroups) > 0 || len(r.Resources) > 0 || len(r.ResourceNames) > 0):
		panic(fmt.Sprintf("rule %v: non-resource rules cannot name API groups, resources or names", r))
	case len(r.Resources) > 0 && len(r.APIGroups) == 0:
		panic(fmt.Sprintf("rule %v: resource rules need API groups", r))
	case len(r.Resources) == 0 && len(r.NonResourceURLs) == 0:
		panic(fmt.Sprintf("rule %v: a rule needs resources or non-resource URLs", r))
	}
	return r
}

// eventsRule lets a component record events in both event APIs.
func eventsRule() rbacv1.PolicyRule {
	return allow("create", "update", "patch").groups(legacyGroup, eventsGroup).resources("events").build()
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func serviceAccountSubject(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// clusterRoleBinding binds the ClusterRole of the same name.
func clusterRoleBinding(clusterRoleName string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: bootstrapMeta(metav1.ObjectMeta{Name: clusterRoleName}),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRoleName},
		Subjects:   subjects,
	}
}

// roleBinding binds the Role of the same name in namespace.
func roleBinding(namespace, roleName string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: bootstrapMeta(metav1.ObjectMeta{Namespace: namespace, Name: roleName}),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roleName},
		Subjects:   subjects,
	}
}

// bootstrapMeta adds the bootstrapping label and the autoupdate annotation
// to meta, keeping the labels it has.
func bootstrapMeta(meta metav1.ObjectMeta) metav1.ObjectMeta {
	labels := map[string]string{BootstrappingLabel: bootstrappingValue}
	for k, v := range meta.Labels {
		labels[k] = v
	}
	meta.Labels = labels
	meta.Annotations = map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"}
	return meta
}
