package certificateapproval

import (
	"context"
	"fmt"
	"io"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/authz/signerauthz"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "CertificateApproval"

var csrResource = schema.GroupResource{Group: certificatesv1.GroupName, Resource: "certificatesigningrequests"}

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin checks the approve permission on updates of CSR approvals.
type Plugin struct {
	signerauthz.Plugin
}

var (
	_ admission.ValidationInterface     = (*Plugin)(nil)
	_ admission.InitializationValidator = (*Plugin)(nil)
	_ initializer.WantsAuthorizer       = (*Plugin)(nil)
)

// New returns the plugin, which handles updates.
func New() *Plugin { return &Plugin{Plugin: signerauthz.NewPlugin(PluginName, admission.Update)} }

// Validate forbids an update of certificatesigningrequests/approval unless
// the user may approve for the CSR's signer. The signer is taken from the
// stored (old) object, so a request that also tries to change it is
// judged by the signer it has.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "approval" || a.GetResource().GroupResource() != csrResource {
		return nil
	}
	csr, ok := a.GetOldObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.GetOldObject()))
	}
	if !p.Allowed(ctx, a.GetUserInfo(), "approve", csr.Spec.SignerName) {
		klog.FromContext(ctx).V(1).Info("User not permitted to approve CertificateSigningRequest", "csr", csr.Name, "signer", csr.Spec.SignerName, "user", a.GetUserInfo().GetName())
		return admission.NewForbidden(a, fmt.Errorf("user not permitted to approve requests with signerName %q", csr.Spec.SignerName))
	}
	return nil
}
