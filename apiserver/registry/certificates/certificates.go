// Package certificates declares certificates.k8s.io/v1
// CertificateSigningRequests (the requester's identity recorded by the
// server on create, a spec that never changes, a status subresource that
// may not touch approval, and an approval subresource that touches only
// the conditions), ClusterTrustBundles (cluster-scoped PEM trust anchors,
// selectable by spec.signerName) and PodCertificateRequests (a kubelet's
// request for a pod's certificate, issued through /status by the signer).
package certificates

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	certificatesvalidation "github.com/skiff-dev/skiff/apiserver/validation/certificates"
)

type (
	csr                = certificatesv1.CertificateSigningRequest
	clusterTrustBundle = certificatesv1.ClusterTrustBundle
)

// Resources returns the certificates.k8s.io/v1 resources; authz decides
// who may issue PodCertificateRequests for a signer.
func Resources(tables func(schema.GroupResource) rest.TableConvertor, authz authorizer.Authorizer) []registry.Resource {
	return []registry.Resource{
		&registry.Definition[*csr]{
			GroupVersion: certificatesv1.SchemeGroupVersion, Resource: "certificatesigningrequests",
			Singular: "certificatesigningrequest", Kind: "CertificateSigningRequest",
			ShortNames:       []string{"csr"},
			New:              func() *csr { return &csr{} },
			NewList:          func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
			PrepareForCreate: recordRequester,
			Validate:         certificatesvalidation.ValidateCertificateSigningRequest,
			ValidateUpdate:   certificatesvalidation.ValidateCertificateSigningRequestUpdate,
			PrepareForUpdate: func(_ context.Context, obj, old *csr) { obj.Spec = old.Spec },
			Status: &registry.Status[*csr]{
				PrepareForUpdate: func(_ context.Context, obj, old *csr) {
					keepConditions(obj, old, certificatesv1.CertificateApproved)
					keepConditions(obj, old, certificatesv1.CertificateDenied)
					stampConditions(obj, old)
				},
				ValidateUpdate: certificatesvalidation.ValidateCertificateSigningRequestStatusUpdate,
			},
			StatusLike: map[string]*registry.Status[*csr]{
				"approval": {
					PrepareForUpdate: func(_ context.Context, obj, old *csr) {
						stampConditions(obj, old)
						conditions := obj.Status.Conditions
						obj.Status = old.Status
						obj.Status.Conditions = conditions
					},
					ValidateUpdate: certificatesvalidation.ValidateCertificateSigningRequestApprovalUpdate,
				},
			},
			Fields: func(c *csr) fields.Set {
				return fields.Set{"spec.signerName": c.Spec.SignerName}
			},
			FieldLabels:    []string{"spec.signerName"},
			TableConvertor: tables(certificatesv1.Resource("certificatesigningrequests")),
		},
		// As upstream's: no status, no generation, no short name.
		&registry.Definition[*clusterTrustBundle]{
			GroupVersion: certificatesv1.SchemeGroupVersion, Resource: "clustertrustbundles",
			Singular: "clustertrustbundle", Kind: "ClusterTrustBundle",
			New:            func() *clusterTrustBundle { return &clusterTrustBundle{} },
			NewList:        func() runtime.Object { return &certificatesv1.ClusterTrustBundleList{} },
			Validate:       certificatesvalidation.ValidateClusterTrustBundle,
			ValidateUpdate: certificatesvalidation.ValidateClusterTrustBundleUpdate,
			Fields: func(b *clusterTrustBundle) fields.Set {
				return fields.Set{"spec.signerName": b.Spec.SignerName}
			},
			FieldLabels:    []string{"spec.signerName"},
			TableConvertor: tables(certificatesv1.Resource("clustertrustbundles")),
		},
		podCertificateRequests(func(r string) rest.TableConvertor { return tables(certificatesv1.Resource(r)) }, authz),
	}
}

// recordRequester replaces whatever identity the client put in the spec
// with the authenticated requester's, so that approvers can trust it, and
// starts the request unapproved.
func recordRequester(ctx context.Context, c *csr) {
	c.Spec.Username, c.Spec.UID, c.Spec.Groups, c.Spec.Extra = "", "", nil, nil
	if user, ok := genericapirequest.UserFrom(ctx); ok {
		c.Spec.Username = user.GetName()
		c.Spec.UID = user.GetUID()
		c.Spec.Groups = user.GetGroups()
		if extra := user.GetExtra(); len(extra) > 0 {
			c.Spec.Extra = make(map[string]certificatesv1.ExtraValue, len(extra))
			for k, v := range extra {
				c.Spec.Extra[k] = v
			}
		}
	}
	c.Status = certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{}}
}

// keepConditions puts old's conditions of type t back in place of obj's,
// when both hold the same number of them: a status write may not alter
// approval. (Adding or removing one is left for validation to reject.)
func keepConditions(obj, old *csr, t certificatesv1.RequestConditionType) {
	var oldAt, newAt []int
	for i, c := range old.Status.Conditions {
		if c.Type == t {
			oldAt = append(oldAt, i)
		}
	}
	for i, c := range obj.Status.Conditions {
		if c.Type == t {
			newAt = append(newAt, i)
		}
	}
	if len(oldAt) != len(newAt) {
		return
	}
	for i, at := range oldAt {
		obj.Status.Conditions[newAt[i]] = old.Status.Conditions[at]
	}
}

// stampConditions fills unset condition timestamps: lastUpdateTime is now;
// lastTransitionTime carries over from an old condition of the same type
// and status, or is now.
func stampConditions(obj, old *csr) {
	now := metav1.Now()
	for i := range obj.Status.Conditions {
		c := &obj.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, o := range old.Status.Conditions {
			if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
				break
			}
		}
	}
}
