package rbac

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
)

// RoleGetter reads namespaced Roles; rbaclisters.RoleLister satisfies it.
type RoleGetter interface {
	Roles(namespace string) rbaclisters.RoleNamespaceLister
}

// RoleBindingLister lists RoleBindings per namespace;
// rbaclisters.RoleBindingLister satisfies it.
type RoleBindingLister interface {
	RoleBindings(namespace string) rbaclisters.RoleBindingNamespaceLister
}

// ClusterRoleGetter reads ClusterRoles; rbaclisters.ClusterRoleLister satisfies it.
type ClusterRoleGetter interface {
	Get(name string) (*rbacv1.ClusterRole, error)
}

// ClusterRoleBindingLister lists ClusterRoleBindings;
// rbaclisters.ClusterRoleBindingLister satisfies it.
type ClusterRoleBindingLister interface {
	List(selector labels.Selector) ([]*rbacv1.ClusterRoleBinding, error)
}

// Authorizer authorizes requests by the RBAC objects its listers see. It
// implements authorizer.Authorizer and authorizer.RuleResolver.
type Authorizer struct {
	roles               RoleGetter
	roleBindings        RoleBindingLister
	clusterRoles        ClusterRoleGetter
	clusterRoleBindings ClusterRoleBindingLister
}

var (
	_ authorizer.Authorizer   = &Authorizer{}
	_ authorizer.RuleResolver = &Authorizer{}
	_ PolicyRuleResolver      = &Authorizer{}
)

// New returns an Authorizer reading from the given listers, typically backed
// by the server's shared informers.
func New(roles RoleGetter, roleBindings RoleBindingLister, clusterRoles ClusterRoleGetter, clusterRoleBindings ClusterRoleBindingLister) *Authorizer {
	return &Authorizer{
		roles:               roles,
		roleBindings:        roleBindings,
		clusterRoles:        clusterRoles,
		clusterRoleBindings: clusterRoleBindings,
	}
}

// Authorize allows the request if a rule bound to its user allows it, with the
// reason "RBAC: allowed by <binding>". Otherwise it has no opinion; the reason
// then lists the errors met while resolving rules, if any. It never denies and
// never returns an error.
func (a *Authorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	var errs []error
	allowedBy := ""
	a.visitRules(attrs.GetUser(), attrs.GetNamespace(), func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil && ruleAllows(attrs, rule) {
			allowedBy = source.String()
			return false
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	if allowedBy != "" {
		return authorizer.DecisionAllow, "RBAC: allowed by " + allowedBy, nil
	}
	reason := ""
	if len(errs) > 0 {
		reason = fmt.Sprintf("RBAC: %v", utilerrors.NewAggregate(errs))
	}
	return authorizer.DecisionNoOpinion, reason, nil
}

// ConditionsAwareAuthorize returns Authorize's decision unconditionally: RBAC
// has no conditional decisions.
func (a *Authorizer) ConditionsAwareAuthorize(ctx context.Context, attrs authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(a.Authorize(ctx, attrs))
}

// EvaluateConditions fails closed: RBAC never returns conditions to evaluate.
func (a *Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}

// RulesFor returns the rules that apply to u in namespace (cluster-wide rules
// only when namespace is empty), split into resource and non-resource rules as
// SelfSubjectRulesReview reports them. A rule with both resources and
// non-resource URLs appears in both lists. The list is never marked
// incomplete; resolution errors are returned alongside the rules found.
func (a *Authorizer) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	var (
		resourceRules    []authorizer.ResourceRuleInfo
		nonResourceRules []authorizer.NonResourceRuleInfo
	)
	rules, err := a.PolicyRulesFor(ctx, u, namespace)
	for _, rule := range rules {
		if len(rule.Resources) > 0 {
			resourceRules = append(resourceRules, &authorizer.DefaultResourceRuleInfo{
				Verbs:         rule.Verbs,
				APIGroups:     rule.APIGroups,
				Resources:     rule.Resources,
				ResourceNames: rule.ResourceNames,
			})
		}
		if len(rule.NonResourceURLs) > 0 {
			nonResourceRules = append(nonResourceRules, &authorizer.DefaultNonResourceRuleInfo{
				Verbs:           rule.Verbs,
				NonResourceURLs: rule.NonResourceURLs,
			})
		}
	}
	return resourceRules, nonResourceRules, false, err
}

// PolicyRulesFor returns every rule bound to u by ClusterRoleBindings and, when
// namespace is set, by RoleBindings in it. The error aggregates what could not
// be resolved (a missing role, a list failure); the rules found are returned
// anyway, since rules only ever add permissions.
func (a *Authorizer) PolicyRulesFor(_ context.Context, u user.Info, namespace string) ([]rbacv1.PolicyRule, error) {
	var (
		rules []rbacv1.PolicyRule
		errs  []error
	)
	a.visitRules(u, namespace, func(_ fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil {
			rules = append(rules, *rule)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	return rules, utilerrors.NewAggregate(errs)
}

// RoleRefRules returns the rules of the Role (in bindingNamespace) or
// ClusterRole that roleRef names, as a binding in bindingNamespace ("" for a
// ClusterRoleBinding) would grant them.
func (a *Authorizer) RoleRefRules(_ context.Context, roleRef rbacv1.RoleRef, bindingNamespace string) ([]rbacv1.PolicyRule, error) {
	return a.roleRefRules(roleRef, bindingNamespace)
}

func (a *Authorizer) roleRefRules(roleRef rbacv1.RoleRef, bindingNamespace string) ([]rbacv1.PolicyRule, error) {
	switch roleRef.Kind {
	case "Role":
		role, err := a.roles.Roles(bindingNamespace).Get(roleRef.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	case "ClusterRole":
		clusterRole, err := a.clusterRoles.Get(roleRef.Name)
		if err != nil {
			return nil, err
		}
		return clusterRole.Rules, nil
	default:
		return nil, fmt.Errorf("unsupported role reference kind: %q", roleRef.Kind)
	}
}

// ruleVisitor receives each rule bound to a user with the binding that grants
// it, or an error (with nil source and rule); returning false stops the walk.
type ruleVisitor func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool

// visitRules walks ClusterRoleBindings first, then the RoleBindings of
// namespace, calling visit for every rule of every binding that names u.
func (a *Authorizer) visitRules(u user.Info, namespace string, visit ruleVisitor) {
	clusterRoleBindings, err := a.clusterRoleBindings.List(labels.Everything())
	if err != nil {
		if !visit(nil, nil, err) {
			return
		}
	} else {
		for _, binding := range clusterRoleBindings {
			i, ok := boundSubject(u, binding.Subjects, "")
			if !ok {
				continue
			}
			rules, err := a.roleRefRules(binding.RoleRef, "")
			if err != nil {
				if !visit(nil, nil, err) {
					return
				}
				continue
			}
			source := clusterRoleBindingSource{binding: binding, subject: &binding.Subjects[i]}
			for j := range rules {
				if !visit(source, &rules[j], nil) {
					return
				}
			}
		}
	}

	if namespace == "" {
		return
	}
	roleBindings, err := a.roleBindings.RoleBindings(namespace).List(labels.Everything())
	if err != nil {
		visit(nil, nil, err)
		return
	}
	for _, binding := range roleBindings {
		i, ok := boundSubject(u, binding.Subjects, namespace)
		if !ok {
			continue
		}
		rules, err := a.roleRefRules(binding.RoleRef, namespace)
		if err != nil {
			if !visit(nil, nil, err) {
				return
			}
			continue
		}
		source := roleBindingSource{binding: binding, subject: &binding.Subjects[i]}
		for j := range rules {
			if !visit(source, &rules[j], nil) {
				return
			}
		}
	}
}

// boundSubject returns the index of the first subject that names u.
func boundSubject(u user.Info, subjects []rbacv1.Subject, namespace string) (int, bool) {
	if u == nil {
		return 0, false
	}
	for i := range subjects {
		if subjectMatches(u, &subjects[i], namespace) {
			return i, true
		}
	}
	return 0, false
}

// subjectMatches matches a User by name, a Group by membership, and a
// ServiceAccount by its username system:serviceaccount:<ns>:<name>, where a
// subject without a namespace takes the binding's (ClusterRoleBindings have
// none, so such a subject never matches there).
func subjectMatches(u user.Info, s *rbacv1.Subject, namespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return u.GetName() == s.Name
	case rbacv1.GroupKind:
		for _, g := range u.GetGroups() {
			if g == s.Name {
				return true
			}
		}
		return false
	case rbacv1.ServiceAccountKind:
		saNamespace := namespace
		if s.Namespace != "" {
			saNamespace = s.Namespace
		}
		if saNamespace == "" {
			return false
		}
		return serviceaccount.MatchesUsername(saNamespace, s.Name, u.GetName())
	default:
		return false
	}
}

// describeSubject renders a subject for an allow reason; service accounts
// read "name/namespace".
func describeSubject(s *rbacv1.Subject, bindingNamespace string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+ns)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

type clusterRoleBindingSource struct {
	binding *rbacv1.ClusterRoleBinding
	subject *rbacv1.Subject
}

func (s clusterRoleBindingSource) String() string {
	return fmt.Sprintf("ClusterRoleBinding %q of %s %q to %s",
		s.binding.Name, s.binding.RoleRef.Kind, s.binding.RoleRef.Name, describeSubject(s.subject, ""))
}

type roleBindingSource struct {
	binding *rbacv1.RoleBinding
	subject *rbacv1.Subject
}

func (s roleBindingSource) String() string {
	return fmt.Sprintf("RoleBinding %q of %s %q to %s",
		s.binding.Name+"/"+s.binding.Namespace, s.binding.RoleRef.Kind, s.binding.RoleRef.Name,
		describeSubject(s.subject, s.binding.Namespace))
}
