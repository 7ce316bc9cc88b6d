package signerauthz

import (
	"context"
	"errors"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// Plugin is what the admission plugins that check signer permissions
// (CertificateApproval, CertificateSigning, ClusterTrustBundleAttest)
// share: the operations they handle and the authorizer they ask. Each
// embeds it and adds its own Validate.
type Plugin struct {
	*admission.Handler
	name  string
	authz authorizer.Authorizer
}

var (
	_ admission.InitializationValidator = (*Plugin)(nil)
	_ initializer.WantsAuthorizer       = (*Plugin)(nil)
)

// NewPlugin returns the shared part of the plugin registered as name,
// handling ops.
func NewPlugin(name string, ops ...admission.Operation) Plugin {
	return Plugin{Handler: admission.NewHandler(ops...), name: name}
}

// SetAuthorizer sets the authorizer the signer checks ask.
func (p *Plugin) SetAuthorizer(a authorizer.Authorizer) { p.authz = a }

// ValidateInitialization reports a missing authorizer.
func (p *Plugin) ValidateInitialization() error {
	if p.authz == nil {
		return errors.New(p.name + " requires an authorizer")
	}
	return nil
}

// Allowed is the package's Allowed with the plugin's authorizer.
func (p *Plugin) Allowed(ctx context.Context, u user.Info, verb, signerName string) bool {
	return Allowed(ctx, p.authz, u, verb, signerName)
}
