package certificates

import (
	"context"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/authz/signerauthz"
	"github.com/skiff-dev/skiff/apiserver/registry"
	certificatesvalidation "github.com/skiff-dev/skiff/apiserver/validation/certificates"
)

type podCertificateRequest = certificatesv1.PodCertificateRequest

// podCertificateRequests declares certificates.k8s.io/v1
// PodCertificateRequests as upstream: namespaced, an immutable spec, the
// status cleared on create and written through /status only, by someone
// who may "sign" for the request's signer.
func podCertificateRequests(tables func(string) rest.TableConvertor, authz authorizer.Authorizer) registry.Resource {
	return &registry.Definition[*podCertificateRequest]{
		GroupVersion: certificatesv1.SchemeGroupVersion, Resource: "podcertificaterequests",
		Singular: "podcertificaterequest", Kind: "PodCertificateRequest", Namespaced: true,
		New:            func() *podCertificateRequest { return &podCertificateRequest{} },
		NewList:        func() runtime.Object { return &certificatesv1.PodCertificateRequestList{} },
		Validate:       certificatesvalidation.ValidatePodCertificateRequest,
		ValidateUpdate: certificatesvalidation.ValidatePodCertificateRequestUpdate,
		Status: &registry.Status[*podCertificateRequest]{
			ValidateUpdate: func(obj, old *podCertificateRequest) field.ErrorList {
				return certificatesvalidation.ValidatePodCertificateRequestStatusUpdate(obj, old, time.Now())
			},
		},
		Fields: func(r *podCertificateRequest) fields.Set {
			return fields.Set{"spec.signerName": r.Spec.SignerName, "spec.podName": r.Spec.PodName, "spec.nodeName": string(r.Spec.NodeName)}
		},
		FieldLabels:    []string{"spec.signerName", "spec.podName", "spec.nodeName"},
		TableConvertor: tables("podcertificaterequests"),
		Extend: func(_ *registry.REST, storages map[string]rest.Storage) error {
			status, ok := storages["podcertificaterequests/status"].(*registry.StatusREST)
			if !ok {
				return fmt.Errorf("podcertificaterequests/status: unexpected storage %T", storages["podcertificaterequests/status"])
			}
			storages["podcertificaterequests/status"] = &signerCheckedStatus{StatusREST: status, authz: authz}
			return nil
		},
	}
}

// signerCheckedStatus is podcertificaterequests/status with upstream's
// status strategy check: a write that changes the status (issues, denies
// or fails the request) needs the "sign" verb on the signers resource of
// the request's signer, or of "<domain>/*".
type signerCheckedStatus struct {
	*registry.StatusREST
	authz authorizer.Authorizer
}

// Update runs the sign check after the status validation, as the generic
// store runs updateValidation after the strategy's.
func (s *signerCheckedStatus) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	checked := func(ctx context.Context, obj, old runtime.Object) error {
		if err := s.checkSigner(ctx, obj.(*podCertificateRequest), old.(*podCertificateRequest)); err != nil {
			return err
		}
		if updateValidation != nil {
			return updateValidation(ctx, obj, old)
		}
		return nil
	}
	return s.StatusREST.Update(ctx, name, objInfo, createValidation, checked, forceAllowCreate, options)
}

func (s *signerCheckedStatus) checkSigner(ctx context.Context, obj, old *podCertificateRequest) error {
	if apiequality.Semantic.DeepEqual(old.Status, obj.Status) {
		return nil
	}
	invalid := func(e *field.Error) error {
		return apierrors.NewInvalid(certificatesv1.Kind("PodCertificateRequest"), old.Name, field.ErrorList{e})
	}
	signerPath := field.NewPath("spec", "signerName")
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return invalid(field.InternalError(signerPath, fmt.Errorf("cannot determine calling user to perform \"sign\" check")))
	}
	if s.authz == nil || !signerauthz.Allowed(ctx, s.authz, u, "sign", old.Spec.SignerName) {
		klog.V(4).InfoS("User may not sign for the PodCertificateRequest's signer", "podCertificateRequest", klog.KObj(old), "signerName", old.Spec.SignerName, "user", u.GetName())
		return invalid(field.Forbidden(signerPath, fmt.Sprintf("User %q is not permitted to \"sign\" for signer %q", u.GetName(), old.Spec.SignerName)))
	}
	return nil
}

// authorizedForSigner asks whether info may verb the signers resource named
// signerName, or failing that "<domain>/*", as upstream's
// certauthorization.IsAuthorizedForSignerName does.
func authorizedForSigner(ctx context.Context, authz authorizer.Authorizer, info user.Info, verb, signerName string) bool {
	if authz == nil {
		return false
	}
	domain, _, _ := strings.Cut(signerName, "/")
	for _, name := range []string{signerName, domain + "/*"} {
		decision, reason, err := authz.Authorize(ctx, authorizer.AttributesRecord{
			User: info, Verb: verb, Name: name, APIGroup: certificatesv1.GroupName, APIVersion: "*",
			Resource: "signers", ResourceRequest: true,
		})
		if err != nil {
			klog.V(3).InfoS("Cannot authorize signer access", "verb", verb, "signer", name, "reason", reason, "err", err)
			continue
		}
		if decision == authorizer.DecisionAllow {
			return true
		}
	}
	return false
}
