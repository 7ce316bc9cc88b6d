package server

import (
	"fmt"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/authorization/union"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/skiff-dev/skiff/apiserver/authz/node"
	"github.com/skiff-dev/skiff/apiserver/authz/rbac"
	"github.com/skiff-dev/skiff/apiserver/bootstrap/rbacpolicy"
)

// authzResult is the built authorizer and the rule resolver behind
// SelfSubjectRulesReview.
type authzResult struct {
	authorizer   authorizer.Authorizer
	ruleResolver authorizer.RuleResolver
	// rbac is the RBAC authorizer when RBAC is enabled, for the escalation
	// checks of the RBAC API.
	rbac *rbac.Authorizer
}

// applyAuthorization builds the authorizer chain: system:masters first (as
// kube-apiserver's privileged-group authorizer), then each
// --authorization-mode in order.
func (o *Options) applyAuthorization(c *genericapiserver.Config, deps *dependencies) (authzResult, error) {
	named := []union.NamedAuthorizer{{AuthorizerName: "privileged", Authorizer: authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)}}
	var resolvers []authorizer.RuleResolver
	var res authzResult
	for _, mode := range o.Authorization.Modes {
		switch mode {
		case ModeAlwaysAllow:
			a := authorizerfactory.NewAlwaysAllowAuthorizer()
			named = append(named, union.NamedAuthorizer{AuthorizerName: "alwaysallow", Authorizer: a})
			resolvers = append(resolvers, a)
		case ModeAlwaysDeny:
			a := authorizerfactory.NewAlwaysDenyAuthorizer()
			named = append(named, union.NamedAuthorizer{AuthorizerName: "alwaysdeny", Authorizer: a})
			resolvers = append(resolvers, a)
		case ModeRBAC:
			r := deps.informers.Rbac().V1()
			a := rbac.New(r.Roles().Lister(), r.RoleBindings().Lister(), r.ClusterRoles().Lister(), r.ClusterRoleBindings().Lister())
			named = append(named, union.NamedAuthorizer{AuthorizerName: "rbac", Authorizer: a})
			resolvers = append(resolvers, a)
			res.rbac = a
		case ModeNode:
			// Registering the graph's informers here, before the server
			// starts, has the shared factory start them with the others.
			a, err := node.New(deps.informers, rbacpolicy.NodeRules())
			if err != nil {
				return res, fmt.Errorf("build Node authorizer: %w", err)
			}
			named = append(named, union.NamedAuthorizer{AuthorizerName: "node", Authorizer: a})
			resolvers = append(resolvers, a)
		case ModeWebhook:
			return res, fmt.Errorf("--authorization-mode=Webhook is not supported by Skiff yet")
		default:
			return res, fmt.Errorf("unknown authorization mode %q", mode)
		}
	}
	a, err := union.New(named...)
	if err != nil {
		return res, fmt.Errorf("build authorizer: %w", err)
	}
	res.authorizer = a
	res.ruleResolver = union.NewRuleResolvers(resolvers...)
	c.Authorization.Authorizer = a
	c.RuleResolver = res.ruleResolver
	return res, nil
}
