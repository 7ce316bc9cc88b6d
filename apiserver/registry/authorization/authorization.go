package authorization

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	authzvalidation "github.com/skiff-dev/skiff/apiserver/validation/authorization"
)

var gv = authorizationv1.SchemeGroupVersion

// Storage returns the REST storage of authorization.k8s.io/v1 keyed by resource.
func Storage(a authorizer.Authorizer, rules authorizer.RuleResolver) map[string]rest.Storage {
	return map[string]rest.Storage{
		"subjectaccessreviews":      &review{kind: "SubjectAccessReview", singular: "subjectaccessreview", create: subjectAccessReview(a)},
		"selfsubjectaccessreviews":  &review{kind: "SelfSubjectAccessReview", singular: "selfsubjectaccessreview", create: selfSubjectAccessReview(a)},
		"localsubjectaccessreviews": &review{kind: "LocalSubjectAccessReview", singular: "localsubjectaccessreview", namespaced: true, create: localSubjectAccessReview(a)},
		"selfsubjectrulesreviews":   &review{kind: "SelfSubjectRulesReview", singular: "selfsubjectrulesreview", create: selfSubjectRulesReview(rules)},
	}
}

// review is a create-only resource whose Create computes a status.
type review struct {
	kind, singular string
	namespaced     bool
	create         func(ctx context.Context, obj runtime.Object) (runtime.Object, error)
}

var (
	_ rest.Creater                  = &review{}
	_ rest.Scoper                   = &review{}
	_ rest.SingularNameProvider     = &review{}
	_ rest.GroupVersionKindProvider = &review{}
)

func (r *review) New() runtime.Object {
	switch r.kind {
	case "SubjectAccessReview":
		return &authorizationv1.SubjectAccessReview{}
	case "SelfSubjectAccessReview":
		return &authorizationv1.SelfSubjectAccessReview{}
	case "LocalSubjectAccessReview":
		return &authorizationv1.LocalSubjectAccessReview{}
	default:
		return &authorizationv1.SelfSubjectRulesReview{}
	}
}
func (r *review) Destroy()                {}
func (r *review) NamespaceScoped() bool   { return r.namespaced }
func (r *review) GetSingularName() string { return r.singular }
func (r *review) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind(r.kind)
}

func (r *review) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	return r.create(ctx, obj)
}

func invalid(kind string, errs field.ErrorList) error {
	return apierrors.NewInvalid(gv.WithKind(kind).GroupKind(), "", errs)
}

func subjectAccessReview(a authorizer.Authorizer) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		sar, ok := obj.(*authorizationv1.SubjectAccessReview)
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SubjectAccessReview: %T", obj))
		}
		if errs := authzvalidation.ValidateSubjectAccessReview(sar); len(errs) > 0 {
			return nil, invalid("SubjectAccessReview", errs)
		}
		u := &user.DefaultInfo{Name: sar.Spec.User, UID: sar.Spec.UID, Groups: sar.Spec.Groups, Extra: extra(sar.Spec.Extra)}
		sar.Status = decide(ctx, a, attributes(u, sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes))
		return sar, nil
	}
}

func selfSubjectAccessReview(a authorizer.Authorizer) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		ssar, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectAccessReview: %T", obj))
		}
		if errs := authzvalidation.ValidateSelfSubjectAccessReview(ssar); len(errs) > 0 {
			return nil, invalid("SelfSubjectAccessReview", errs)
		}
		u, ok := genericapirequest.UserFrom(ctx)
		if !ok {
			return nil, apierrors.NewBadRequest("no user present on request")
		}
		ssar.Status = decide(ctx, a, attributes(u, ssar.Spec.ResourceAttributes, ssar.Spec.NonResourceAttributes))
		return ssar, nil
	}
}

func localSubjectAccessReview(a authorizer.Authorizer) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		lsar, ok := obj.(*authorizationv1.LocalSubjectAccessReview)
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("not a LocalSubjectAccessReview: %T", obj))
		}
		if errs := authzvalidation.ValidateLocalSubjectAccessReview(lsar); len(errs) > 0 {
			return nil, invalid("LocalSubjectAccessReview", errs)
		}
		namespace := genericapirequest.NamespaceValue(ctx)
		if len(namespace) == 0 {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("namespace is required on this type: %v", namespace))
		}
		if lsar.Spec.ResourceAttributes != nil && namespace != lsar.Spec.ResourceAttributes.Namespace {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match namespace: %v", namespace))
		}
		u := &user.DefaultInfo{Name: lsar.Spec.User, UID: lsar.Spec.UID, Groups: lsar.Spec.Groups, Extra: extra(lsar.Spec.Extra)}
		lsar.Status = decide(ctx, a, attributes(u, lsar.Spec.ResourceAttributes, lsar.Spec.NonResourceAttributes))
		return lsar, nil
	}
}

func selfSubjectRulesReview(rules authorizer.RuleResolver) func(context.Context, runtime.Object) (runtime.Object, error) {
	return func(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
		ssrr, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectRulesReview: %T", obj))
		}
		if errs := authzvalidation.ValidateSelfSubjectRulesReview(ssrr); len(errs) > 0 {
			return nil, invalid("SelfSubjectRulesReview", errs)
		}
		u, ok := genericapirequest.UserFrom(ctx)
		if !ok {
			return nil, apierrors.NewBadRequest("no user present on request")
		}
		namespace := ssrr.Spec.Namespace
		if namespace == "" {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("no namespace on request"))
		}
		resourceInfo, nonResourceInfo, incomplete, err := rules.RulesFor(ctx, u, namespace)
		status := authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete}
		if err != nil {
			status.EvaluationError = err.Error()
		}
		for _, r := range resourceInfo {
			status.ResourceRules = append(status.ResourceRules, authorizationv1.ResourceRule{
				Verbs: r.GetVerbs(), APIGroups: r.GetAPIGroups(), Resources: r.GetResources(), ResourceNames: r.GetResourceNames(),
			})
		}
		for _, r := range nonResourceInfo {
			status.NonResourceRules = append(status.NonResourceRules, authorizationv1.NonResourceRule{
				Verbs: r.GetVerbs(), NonResourceURLs: r.GetNonResourceURLs(),
			})
		}
		ssrr.Status = status
		return ssrr, nil
	}
}

func extra(in map[string]authorizationv1.ExtraValue) map[string][]string {
	if in == nil {
		return nil
	}
	out := make(map[string][]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// attributes turns a review's spec into the authorizer's request attributes,
// as upstream's AuthorizationAttributesFrom does.
func attributes(u user.Info, res *authorizationv1.ResourceAttributes, nonRes *authorizationv1.NonResourceAttributes) authorizer.AttributesRecord {
	attrs := authorizer.AttributesRecord{User: u}
	if res != nil {
		attrs.Verb = res.Verb
		attrs.Namespace = res.Namespace
		attrs.APIGroup = res.Group
		attrs.APIVersion = matchAll(res.Version)
		attrs.Resource = res.Resource
		attrs.Subresource = res.Subresource
		attrs.Name = res.Name
		attrs.ResourceRequest = true
		return attrs
	}
	if nonRes != nil {
		attrs.Verb = nonRes.Verb
		attrs.Path = nonRes.Path
	}
	return attrs
}

func matchAll(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func decide(ctx context.Context, a authorizer.Authorizer, attrs authorizer.AttributesRecord) authorizationv1.SubjectAccessReviewStatus {
	decision, reason, err := a.Authorize(ctx, attrs)
	status := authorizationv1.SubjectAccessReviewStatus{
		Allowed: decision == authorizer.DecisionAllow,
		Denied:  decision == authorizer.DecisionDeny,
		Reason:  reason,
	}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	return status
}
