package certificateapproval

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

// approvers allows "approve" on the signers named, for user alice only.
func approvers(names ...string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetUser().GetName() != "alice" || a.GetVerb() != "approve" || a.GetResource() != "signers" || a.GetAPIGroup() != "certificates.k8s.io" {
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

func csr(signer string) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "req"},
		Spec:       certificatesv1.CertificateSigningRequestSpec{SignerName: signer},
	}
}

func approved(c *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequest {
	c = c.DeepCopy()
	c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue})
	return c
}

func TestValidate(t *testing.T) {
	csrs := certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests")
	tests := []struct {
		name        string
		grants      []string
		user        string
		resource    string // default certificatesigningrequests
		subresource string
		old, obj    runtime.Object
		wantErr     string
	}{
		{name: "no grant", user: "alice", subresource: "approval", old: csr("example.com/foo"), obj: approved(csr("example.com/foo")),
			wantErr: `user not permitted to approve requests with signerName "example.com/foo"`},
		{name: "exact signer", grants: []string{"example.com/foo"}, user: "alice", subresource: "approval", old: csr("example.com/foo"), obj: approved(csr("example.com/foo"))},
		{name: "domain wildcard", grants: []string{"example.com/*"}, user: "alice", subresource: "approval", old: csr("example.com/foo"), obj: approved(csr("example.com/foo"))},
		{name: "another signer", grants: []string{"example.com/bar"}, user: "alice", subresource: "approval", old: csr("example.com/foo"), obj: approved(csr("example.com/foo")),
			wantErr: `user not permitted to approve requests with signerName "example.com/foo"`},
		{name: "grant is per user", grants: []string{"example.com/foo"}, user: "bob", subresource: "approval", old: csr("example.com/foo"), obj: approved(csr("example.com/foo")),
			wantErr: `user not permitted to approve requests with signerName "example.com/foo"`},
		{name: "old signer is what counts", grants: []string{"example.com/bar"}, user: "alice", subresource: "approval", old: csr("example.com/foo"), obj: approved(csr("example.com/bar")),
			wantErr: `user not permitted to approve requests with signerName "example.com/foo"`},
		{name: "kubernetes.io signer", grants: []string{"kubernetes.io/*"}, user: "alice", subresource: "approval", old: csr(certificatesv1.KubeAPIServerClientSignerName), obj: approved(csr(certificatesv1.KubeAPIServerClientSignerName))},
		{name: "status subresource is not checked", user: "alice", subresource: "status", old: csr("example.com/foo"), obj: approved(csr("example.com/foo"))},
		{name: "main resource is not checked", user: "alice", old: csr("example.com/foo"), obj: csr("example.com/foo")},
		{name: "other resource is not checked", user: "alice", resource: "configmaps", subresource: "approval", old: &corev1.ConfigMap{}, obj: &corev1.ConfigMap{}},
		{name: "wrong type", user: "alice", subresource: "approval", old: &corev1.ConfigMap{}, obj: &corev1.ConfigMap{},
			wantErr: "expected type CertificateSigningRequest, got: *v1.ConfigMap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			p.SetAuthorizer(approvers(tt.grants...))
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			gvr := csrs
			if tt.resource != "" {
				gvr = corev1.SchemeGroupVersion.WithResource(tt.resource)
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
	if err := p.ValidateInitialization(); err == nil || !strings.Contains(err.Error(), "CertificateApproval requires an authorizer") {
		t.Errorf("ValidateInitialization without authorizer: %v", err)
	}
	for op, want := range map[admission.Operation]bool{admission.Update: true, admission.Create: false, admission.Delete: false, admission.Connect: false} {
		if got := p.Handles(op); got != want {
			t.Errorf("Handles(%s) = %v, want %v", op, got, want)
		}
	}
}
