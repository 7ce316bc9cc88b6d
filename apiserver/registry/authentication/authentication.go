package authentication

import (
	"context"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

var gv = authenticationv1.SchemeGroupVersion

// Storage returns the REST storage of authentication.k8s.io/v1 keyed by
// resource. tokens authenticates TokenReview tokens; audiences are the
// API audiences used when a review names none.
func Storage(tokens authenticator.Request, audiences authenticator.Audiences) map[string]rest.Storage {
	return map[string]rest.Storage{
		"tokenreviews":       &TokenReviewREST{authenticator: tokens, apiAudiences: audiences},
		"selfsubjectreviews": &SelfSubjectReviewREST{},
	}
}

// reviewStorage is what every create-only review resource shares.
type reviewStorage struct{}

func (reviewStorage) NamespaceScoped() bool { return false }
func (reviewStorage) Destroy()              {}

// TokenReviewREST serves tokenreviews.
type TokenReviewREST struct {
	reviewStorage
	authenticator authenticator.Request
	apiAudiences  authenticator.Audiences
}

var (
	_ rest.Creater                  = &TokenReviewREST{}
	_ rest.Scoper                   = &TokenReviewREST{}
	_ rest.SingularNameProvider     = &TokenReviewREST{}
	_ rest.GroupVersionKindProvider = &TokenReviewREST{}
)

// New implements rest.Storage.
func (r *TokenReviewREST) New() runtime.Object { return &authenticationv1.TokenReview{} }

// GetSingularName implements rest.SingularNameProvider.
func (r *TokenReviewREST) GetSingularName() string { return "tokenreview" }

// GroupVersionKind implements rest.GroupVersionKindProvider.
func (r *TokenReviewREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind("TokenReview")
}

// Create authenticates the token in the review and reports who it is.
func (r *TokenReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authenticationv1.TokenReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenReview: %T", obj))
	}
	// As upstream: a review without a token is a bad request, not an
	// invalid object.
	if review.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	namespace := genericapirequest.NamespaceValue(ctx)
	if namespace != "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("namespace is not allowed on this type: %v", namespace))
	}
	if r.authenticator == nil {
		return review, nil
	}

	req := &http.Request{Header: http.Header{}}
	req.Header.Add("Authorization", "Bearer "+review.Spec.Token)
	audiences := review.Spec.Audiences
	if len(audiences) == 0 {
		audiences = r.apiAudiences
	}
	if len(audiences) > 0 {
		ctx = authenticator.WithAudiences(ctx, audiences)
	}
	resp, ok, err := r.authenticator.AuthenticateRequest(req.WithContext(ctx))
	review.Status = authenticationv1.TokenReviewStatus{Authenticated: ok}
	if err != nil {
		review.Status.Error = err.Error()
	}
	if len(review.Spec.Audiences) > 0 && resp != nil && len(resp.Audiences) > 0 {
		review.Status.Audiences = resp.Audiences
	}
	if ok && resp != nil {
		review.Status.User = userInfo(resp.User)
	}
	return review, nil
}

// SelfSubjectReviewREST serves selfsubjectreviews.
type SelfSubjectReviewREST struct {
	reviewStorage
}

var (
	_ rest.Creater                  = &SelfSubjectReviewREST{}
	_ rest.Scoper                   = &SelfSubjectReviewREST{}
	_ rest.SingularNameProvider     = &SelfSubjectReviewREST{}
	_ rest.GroupVersionKindProvider = &SelfSubjectReviewREST{}
)

// New implements rest.Storage.
func (r *SelfSubjectReviewREST) New() runtime.Object { return &authenticationv1.SelfSubjectReview{} }

// GetSingularName implements rest.SingularNameProvider.
func (r *SelfSubjectReviewREST) GetSingularName() string { return "selfsubjectreview" }

// GroupVersionKind implements rest.GroupVersionKindProvider.
func (r *SelfSubjectReviewREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind("SelfSubjectReview")
}

// Create reports the attributes of the requesting user.
func (r *SelfSubjectReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	return &authenticationv1.SelfSubjectReview{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.Now()},
		Status:     authenticationv1.SelfSubjectReviewStatus{UserInfo: userInfo(u)},
	}, nil
}

func userInfo(u user.Info) authenticationv1.UserInfo {
	out := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		out.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range extra {
			out.Extra[k] = v
		}
	}
	return out
}
