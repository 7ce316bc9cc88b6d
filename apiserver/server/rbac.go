package server

import (
	"context"
	"errors"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/skiff-dev/skiff/apiserver/authz/rbac"
	rbacregistry "github.com/skiff-dev/skiff/apiserver/registry/rbac"
)

// fullAuthority is what a ClusterRole's aggregationRule can gather, so
// writing one takes holding all of it, as upstream requires.
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
}

// rbacChecks returns the RBAC API's escalation checks, or nil when RBAC
// authorization is off (then any authorized write is allowed, as upstream).
func (r authzResult) rbacChecks() rbacregistry.Checks {
	if r.rbac == nil {
		return nil
	}
	return escalationChecks{authorizer: r.authorizer, rbac: r.rbac}
}

// escalationChecks are upstream's: a user may write a role only with rules
// they hold, unless a system:masters member or granted the escalate verb,
// and bind a role only if they hold its rules or have the bind verb.
type escalationChecks struct {
	authorizer authorizer.Authorizer
	rbac       *rbac.Authorizer
}

func (c escalationChecks) mayEscalate(ctx context.Context) bool {
	return rbac.EscalationAllowed(ctx) || rbac.RoleEscalationAuthorized(ctx, c.authorizer)
}

func (c escalationChecks) Role(ctx context.Context, _ schema.GroupResource, _ string, rules []rbacv1.PolicyRule) error {
	if c.mayEscalate(ctx) {
		return nil
	}
	return rbac.ConfirmNoEscalation(ctx, c.rbac, rules)
}

func (c escalationChecks) Binding(ctx context.Context, namespace string, roleRef rbacv1.RoleRef) error {
	if rbac.EscalationAllowed(ctx) || rbac.BindingAuthorized(ctx, roleRef, namespace, c.authorizer) {
		return nil
	}
	rules, err := c.rbac.RoleRefRules(ctx, roleRef, namespace)
	if err != nil {
		return err
	}
	return rbac.ConfirmNoEscalation(ctx, c.rbac, rules)
}

func (c escalationChecks) Aggregation(ctx context.Context) error {
	if c.mayEscalate(ctx) {
		return nil
	}
	if rbac.ConfirmNoEscalation(ctx, c.rbac, fullAuthority) != nil {
		return errors.New("must have cluster-admin privileges to use the aggregationRule")
	}
	return nil
}
