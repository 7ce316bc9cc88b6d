package certificatesigning

import (
	"context"
	"fmt"
	"io"
	"reflect"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/authz/signerauthz"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "CertificateSigning"

var csrResource = schema.GroupResource{Group: certificatesv1.GroupName, Resource: "certificatesigningrequests"}

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// Plugin checks the sign permission on updates of CSR status.
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

// Validate forbids an update of certificatesigningrequests/status that
// changes the certificate or the conditions unless the user may sign for
// the CSR's signer (that of the stored object).
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "status" || a.GetResource().GroupResource() != csrResource {
		return nil
	}
	oldCSR, ok := a.GetOldObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.GetOldObject()))
	}
	csr, ok := a.GetObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.GetObject()))
	}
	if reflect.DeepEqual(oldCSR.Status.Certificate, csr.Status.Certificate) &&
		apiequality.Semantic.DeepEqual(oldCSR.Status.Conditions, csr.Status.Conditions) {
		return nil
	}
	if !p.Allowed(ctx, a.GetUserInfo(), "sign", oldCSR.Spec.SignerName) {
		klog.FromContext(ctx).V(1).Info("User not permitted to sign CertificateSigningRequest", "csr", oldCSR.Name, "signer", oldCSR.Spec.SignerName, "user", a.GetUserInfo().GetName())
		return admission.NewForbidden(a, fmt.Errorf("user not permitted to sign requests with signerName %q", oldCSR.Spec.SignerName))
	}
	return nil
}
