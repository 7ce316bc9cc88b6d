package signerauthz

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// grants is an authorizer allowing "verb name" pairs on signers; the
// name "error" makes it fail.
type grants map[string]bool

func (g grants) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetAPIGroup() != "certificates.k8s.io" || a.GetResource() != "signers" || !a.IsResourceRequest() || a.GetAPIVersion() != "*" {
		return authorizer.DecisionNoOpinion, "not signers", nil
	}
	if g["error "+a.GetName()] {
		return authorizer.DecisionAllow, "", errors.New("boom") // an error wins over the decision
	}
	if g[a.GetVerb()+" "+a.GetName()] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name   string
		grants grants
		verb   string
		signer string
		want   bool
	}{
		{name: "no grant", grants: grants{}, verb: "approve", signer: "example.com/foo"},
		{name: "exact name", grants: grants{"approve example.com/foo": true}, verb: "approve", signer: "example.com/foo", want: true},
		{name: "other name", grants: grants{"approve example.com/bar": true}, verb: "approve", signer: "example.com/foo"},
		{name: "domain wildcard", grants: grants{"approve example.com/*": true}, verb: "approve", signer: "example.com/foo", want: true},
		{name: "wildcard of another domain", grants: grants{"approve other.io/*": true}, verb: "approve", signer: "example.com/foo"},
		{name: "wildcard for a nested name", grants: grants{"sign example.com/*": true}, verb: "sign", signer: "example.com/a/b", want: true},
		{name: "other verb", grants: grants{"sign example.com/foo": true}, verb: "approve", signer: "example.com/foo"},
		{name: "error on exact, wildcard allowed", grants: grants{"error example.com/foo": true, "sign example.com/*": true}, verb: "sign", signer: "example.com/foo", want: true},
		{name: "error on both", grants: grants{"error example.com/foo": true, "error example.com/*": true}, verb: "sign", signer: "example.com/foo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &user.DefaultInfo{Name: "alice"}
			if got := Allowed(context.Background(), authorizer.AuthorizerFunc(tt.grants.Authorize), u, tt.verb, tt.signer); got != tt.want {
				t.Errorf("Allowed(%s, %s) = %v, want %v", tt.verb, tt.signer, got, tt.want)
			}
		})
	}
}
