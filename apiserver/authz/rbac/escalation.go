package rbac

import (
	"context"
	"errors"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/component-helpers/auth/rbac/validation"
	"k8s.io/klog/v2"
)

// PolicyRuleResolver resolves the rules that apply to a user in a namespace
// ("" for cluster-wide rules only); *Authorizer implements it.
type PolicyRuleResolver interface {
	PolicyRulesFor(ctx context.Context, u user.Info, namespace string) ([]rbacv1.PolicyRule, error)
}

// EscalationAllowed reports whether the user on ctx is a member of
// system:masters, who may grant anything. A context without a user is not.
func EscalationAllowed(ctx context.Context) bool {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return false
	}
	for _, g := range u.GetGroups() {
		if g == user.SystemPrivilegedGroup {
			return true
		}
	}
	return false
}

// RoleEscalationAuthorized reports whether the user on ctx may "escalate" the
// Role or ClusterRole the request on ctx (its RequestInfo) writes, which lets
// them put rules in it that they do not hold themselves.
func RoleEscalationAuthorized(ctx context.Context, a authorizer.Authorizer) bool {
	if a == nil {
		return false
	}
	u, ok := request.UserFrom(ctx)
	if !ok {
		return false
	}
	info, ok := request.RequestInfoFrom(ctx)
	if !ok || !info.IsResourceRequest {
		return false
	}
	resource := schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}
	if resource != (schema.GroupResource{Group: rbacv1.GroupName, Resource: "roles"}) &&
		resource != (schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}) {
		return false
	}
	decision, _, err := a.Authorize(ctx, authorizer.AttributesRecord{
		User:            u,
		Verb:            "escalate",
		APIGroup:        info.APIGroup,
		APIVersion:      "*",
		Resource:        info.Resource,
		Name:            info.Name,
		Namespace:       info.Namespace,
		ResourceRequest: true,
	})
	if err != nil {
		klog.FromContext(ctx).Error(err, "Error authorizing escalate", "user", u.GetName(), "resource", resource.String(), "name", info.Name, "namespace", info.Namespace)
	}
	return decision == authorizer.DecisionAllow
}

// BindingAuthorized reports whether the user on ctx may "bind" the role that
// roleRef names, checked in bindingNamespace ("" for a ClusterRoleBinding), so
// that binding it needs no check that they hold its rules.
func BindingAuthorized(ctx context.Context, roleRef rbacv1.RoleRef, bindingNamespace string, a authorizer.Authorizer) bool {
	if a == nil {
		return false
	}
	u, ok := request.UserFrom(ctx)
	if !ok {
		return false
	}
	var resource string
	switch roleRef.Kind {
	case "ClusterRole":
		resource = "clusterroles"
	case "Role":
		resource = "roles"
	default:
		return false
	}
	decision, _, err := a.Authorize(ctx, authorizer.AttributesRecord{
		User:            u,
		Verb:            "bind",
		Namespace:       bindingNamespace,
		APIGroup:        roleRef.APIGroup,
		APIVersion:      "*",
		Resource:        resource,
		Name:            roleRef.Name,
		ResourceRequest: true,
	})
	if err != nil {
		klog.FromContext(ctx).Error(err, "Error authorizing bind", "user", u.GetName(), "roleRef", roleRef, "namespace", bindingNamespace)
	}
	return decision == authorizer.DecisionAllow
}

// ConfirmNoEscalation returns an error unless the user on ctx already holds
// every permission in rules, in the namespace on ctx (cluster-wide when it
// has none). The error lists the missing permissions, one compact rule a
// line, as kube-apiserver words it; the REST layer wraps it in a Forbidden.
func ConfirmNoEscalation(ctx context.Context, resolver PolicyRuleResolver, rules []rbacv1.PolicyRule) error {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return errors.New("no user on context")
	}
	namespace, _ := request.NamespaceFrom(ctx)

	var resolutionErrors []error
	ownerRules, err := resolver.PolicyRulesFor(ctx, u, namespace)
	if err != nil {
		// The rules found are still valid: rules only add permissions.
		klog.FromContext(ctx).V(1).Info("Non-fatal error getting rules", "user", u.GetName(), "err", err)
		resolutionErrors = append(resolutionErrors, err)
	}

	covered, missing := validation.Covers(ownerRules, rules)
	if covered {
		return nil
	}
	descriptions := sets.New[string]()
	for _, rule := range compactRules(missing) {
		descriptions.Insert(compactString(rule))
	}
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s",
		u.GetName(), u.GetGroups(), strings.Join(sets.List(descriptions), "\n"))
	if len(resolutionErrors) > 0 {
		msg += fmt.Sprintf("; resolution errors: %v", resolutionErrors)
	}
	return errors.New(msg)
}

// compactRules merges rules that name one API group and one resource and
// nothing else, and differ only in verbs; it suits the one-verb rules that
// validation.Covers reports as missing.
func compactRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	compacted := make([]rbacv1.PolicyRule, 0, len(rules))
	simple := map[schema.GroupResource]int{} // index into compacted
	for _, rule := range rules {
		if len(rule.ResourceNames) > 0 || len(rule.NonResourceURLs) > 0 || len(rule.APIGroups) != 1 || len(rule.Resources) != 1 {
			compacted = append(compacted, rule)
			continue
		}
		key := schema.GroupResource{Group: rule.APIGroups[0], Resource: rule.Resources[0]}
		if i, ok := simple[key]; ok {
			compacted[i].Verbs = append(compacted[i].Verbs, rule.Verbs...)
			continue
		}
		simple[key] = len(compacted)
		compacted = append(compacted, *rule.DeepCopy())
	}
	return compacted
}

// compactString renders a rule as "{APIGroups:[...], Resources:[...], ...}",
// leaving out empty fields, as kube-apiserver's escalation messages do.
func compactString(r rbacv1.PolicyRule) string {
	var parts []string
	add := func(name string, values []string) {
		if len(values) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", name, values))
		}
	}
	add("APIGroups", r.APIGroups)
	add("Resources", r.Resources)
	add("NonResourceURLs", r.NonResourceURLs)
	add("ResourceNames", r.ResourceNames)
	add("Verbs", r.Verbs)
	return "{" + strings.Join(parts, ", ") + "}"
}
