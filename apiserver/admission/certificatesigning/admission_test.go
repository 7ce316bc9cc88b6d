package certificatesigning

import (
	"context"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// signers allows "sign" on the signers named, for user alice only.
func signers(names ...string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetUser().GetName() != "alice" || a.GetVerb() != "sign" || a.GetResource() != "signers" || a.GetAPIGroup() != "certificates.k8s.io" {
			return authorizer.DecisionNoOpinion, "", nil
		}
		for _, n := range names {
			if a.GetName() == n {
				return authorizer.DecisionAllow, "", nil
			}
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

func csr(signer string, cert []byte, conds ...certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequest {
	c := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "req"},
		Spec:       certificatesv1.CertificateSigningRequestSpec{SignerName: signer},
		Status:     certificatesv1.CertificateSigningRequestStatus{Certificate: cert},
	}
	for _, t := range conds {
		c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue})
	}
	return c
}

func TestValidate(t *testing.T) {
	const foo = "example.com/foo"
	cert := []byte("-----BEGIN CERTIFICATE-----\n...")
	approved := certificatesv1.CertificateApproved
	failed := certificatesv1.CertificateFailed
	notAllowed := `user not permitted to sign requests with signerName "example.com/foo"`
	tests := []struct {
		name        string
		grants      []string
		user        string
		subresource string
		old, obj    runtime.Object
		wantErr     string
	}{
		{name: "issuing without grant", user: "alice", subresource: "status", old: csr(foo, nil, approved), obj: csr(foo, cert, approved), wantErr: notAllowed},
		{name: "issuing with exact grant", grants: []string{foo}, user: "alice", subresource: "status", old: csr(foo, nil, approved), obj: csr(foo, cert, approved)},
		{name: "issuing with domain grant", grants: []string{"example.com/*"}, user: "alice", subresource: "status", old: csr(foo, nil, approved), obj: csr(foo, cert, approved)},
		{name: "issuing with another signer's grant", grants: []string{"example.com/bar"}, user: "alice", subresource: "status", old: csr(foo, nil, approved), obj: csr(foo, cert, approved), wantErr: notAllowed},
		{name: "grant is per user", grants: []string{foo}, user: "bob", subresource: "status", old: csr(foo, nil, approved), obj: csr(foo, cert, approved), wantErr: notAllowed},
		{name: "adding a Failed condition needs sign", user: "alice", subresource: "status", old: csr(foo, nil, approved), obj: csr(foo, nil, approved, failed), wantErr: notAllowed},
		{name: "nil to empty certificate is a change", user: "alice", subresource: "status", old: csr(foo, nil, approved), obj: csr(foo, []byte{}, approved), wantErr: notAllowed},
		{name: "no change to certificate or conditions", user: "alice", subresource: "status", old: csr(foo, cert, approved), obj: csr(foo, cert, approved)},
		{name: "old signer is what counts", grants: []string{"example.com/bar"}, user: "alice", subresource: "status", old: csr(foo, nil, approved), obj: csr("example.com/bar", cert, approved), wantErr: notAllowed},
		{name: "approval subresource is not checked", user: "alice", subresource: "approval", old: csr(foo, nil), obj: csr(foo, nil, approved)},
		{name: "main resource is not checked", user: "alice", old: csr(foo, nil), obj: csr(foo, cert)},
		{name: "wrong old type", user: "alice", subresource: "status", old: &corev1.ConfigMap{}, obj: csr(foo, cert), wantErr: "expected type CertificateSigningRequest, got: *v1.ConfigMap"},
	}
	gvr := certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			p.SetAuthorizer(signers(tt.grants...))
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			a := admission.NewAttributesRecord(tt.obj, tt.old, certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"), "", "req",
				gvr, tt.subresource, admission.Update, &metav1.UpdateOptions{}, false, &user.DefaultInfo{Name: tt.user})
			err := p.Validate(context.Background(), a, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want allowed", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate: %v, want Forbidden containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestHandlesUpdatesOnlyAndNeedsAnAuthorizer(t *testing.T) {
	p := New()
	if err := p.ValidateInitialization(); err == nil || !strings.Contains(err.Error(), "CertificateSigning requires an authorizer") {
		t.Errorf("ValidateInitialization without authorizer: %v", err)
	}
	for op, want := range map[admission.Operation]bool{admission.Update: true, admission.Create: false, admission.Delete: false} {
		if got := p.Handles(op); got != want {
			t.Errorf("Handles(%s) = %v, want %v", op, got, want)
		}
	}
}
