package ctbattest

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

// signers allows "attest" on the named signers resources only.
func signers(names ...string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetVerb() != "attest" || a.GetAPIGroup() != "certificates.k8s.io" || a.GetResource() != "signers" || !a.IsResourceRequest() {
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

func bundle(signer string, finalizers ...string) *certificatesv1.ClusterTrustBundle {
	name := "roots"
	if signer != "" {
		name = "example.com:foo:roots"
	}
	return &certificatesv1.ClusterTrustBundle{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers},
		Spec:       certificatesv1.ClusterTrustBundleSpec{SignerName: signer, TrustBundle: "pem"},
	}
}

func TestValidate(t *testing.T) {
	ctbs := certificatesv1.SchemeGroupVersion.WithResource("clustertrustbundles")
	tests := []struct {
		name      string
		authz     authorizer.Authorizer
		op        admission.Operation
		resource  string
		obj, old  runtime.Object
		forbidden bool
	}{
		{name: "no signer needs no permission", authz: signers(), op: admission.Create, obj: bundle("")},
		{name: "create with exact permission", authz: signers("example.com/foo"), op: admission.Create, obj: bundle("example.com/foo")},
		{name: "create with domain wildcard", authz: signers("example.com/*"), op: admission.Create, obj: bundle("example.com/foo")},
		{name: "create without permission", authz: signers("example.com/bar", "other.com/*"), op: admission.Create, obj: bundle("example.com/foo"), forbidden: true},
		{name: "update without permission", authz: signers(), op: admission.Update, obj: func() runtime.Object {
			b := bundle("example.com/foo")
			b.Spec.TrustBundle = "new"
			return b
		}(), old: bundle("example.com/foo"), forbidden: true},
		{name: "label change needs permission", authz: signers(), op: admission.Update, obj: func() runtime.Object {
			b := bundle("example.com/foo")
			b.Labels = map[string]string{"a": "b"}
			return b
		}(), old: bundle("example.com/foo"), forbidden: true},
		{name: "finalizer-only update needs none", authz: signers(), op: admission.Update, obj: bundle("example.com/foo", "example.com/keep"), old: bundle("example.com/foo")},
		{name: "other resources ignored", authz: signers(), op: admission.Create, resource: "configmaps", obj: &corev1.ConfigMap{}},
		{name: "wrong type forbidden", authz: signers(), op: admission.Create, obj: &corev1.ConfigMap{}, forbidden: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			p.SetAuthorizer(tt.authz)
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			gvr := ctbs
			if tt.resource != "" {
				gvr = corev1.SchemeGroupVersion.WithResource(tt.resource)
			}
			attrs := admission.NewAttributesRecord(tt.obj, tt.old, gvr.GroupVersion().WithKind("ClusterTrustBundle"), "", "example.com:foo:roots",
				gvr, "", tt.op, nil, false, &user.DefaultInfo{Name: "alice"})
			err := p.Validate(context.Background(), attrs, nil)
			if tt.forbidden != apierrors.IsForbidden(err) || (!tt.forbidden && err != nil) {
				t.Errorf("Validate = %v, want forbidden %v", err, tt.forbidden)
			}
			if tt.forbidden && err != nil && tt.name == "create without permission" {
				if want := `user not permitted to attest for signerName "example.com/foo"`; !contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
		})
	}
	if err := New().ValidateInitialization(); err == nil {
		t.Error("ValidateInitialization without an authorizer succeeded")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
