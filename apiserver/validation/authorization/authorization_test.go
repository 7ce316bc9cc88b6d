package authorization

import (
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

var (
	getPods  = &authorizationv1.ResourceAttributes{Namespace: "apps", Verb: "get", Resource: "pods"}
	healthz  = &authorizationv1.NonResourceAttributes{Path: "/healthz", Verb: "get"}
	byRaw    = &authorizationv1.FieldSelectorAttributes{RawSelector: "spec.nodeName=node-1"}
	byLabels = &authorizationv1.LabelSelectorAttributes{Requirements: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}}
)

func withSelectors(f *authorizationv1.FieldSelectorAttributes, l *authorizationv1.LabelSelectorAttributes) *authorizationv1.ResourceAttributes {
	attrs := *getPods
	attrs.FieldSelector, attrs.LabelSelector = f, l
	return &attrs
}

func TestValidateSubjectAccessReview(t *testing.T) {
	sar := func(spec authorizationv1.SubjectAccessReviewSpec) *authorizationv1.SubjectAccessReview {
		return &authorizationv1.SubjectAccessReview{Spec: spec}
	}
	tests := []struct {
		name   string
		review *authorizationv1.SubjectAccessReview
		want   []vt.Want
	}{
		{name: "resource, user", review: sar(authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: getPods, User: "alice"})},
		{name: "non-resource, group", review: sar(authorizationv1.SubjectAccessReviewSpec{NonResourceAttributes: healthz, Groups: []string{"dev"}})},
		{name: "selectors", review: sar(authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: withSelectors(byRaw, byLabels), User: "alice"})},
		{
			name:   "managed fields are allowed in metadata",
			review: &authorizationv1.SubjectAccessReview{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}, Spec: authorizationv1.SubjectAccessReviewSpec{NonResourceAttributes: healthz, User: "a"}},
		},
		{
			name:   "both kinds of attributes",
			review: sar(authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: getPods, NonResourceAttributes: healthz, User: "alice"}),
			want:   []vt.Want{vt.Invalid("spec.nonResourceAttributes", "cannot be specified in combination with resourceAttributes")},
		},
		{
			name:   "neither kind, nobody",
			review: sar(authorizationv1.SubjectAccessReviewSpec{}),
			want: []vt.Want{
				vt.Invalid("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified"),
				vt.Invalid("spec.user", "at least one of user or group must be specified"),
			},
		},
		{
			name:   "metadata must be empty",
			review: &authorizationv1.SubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: authorizationv1.SubjectAccessReviewSpec{NonResourceAttributes: healthz, User: "a"}},
			want:   []vt.Want{vt.Invalid("metadata", "must be empty")},
		},
		{
			name: "selectors with both raw and requirements",
			review: sar(authorizationv1.SubjectAccessReviewSpec{User: "a", ResourceAttributes: withSelectors(
				&authorizationv1.FieldSelectorAttributes{RawSelector: "a=b", Requirements: []metav1.FieldSelectorRequirement{{Key: "a", Operator: metav1.FieldSelectorOpIn, Values: []string{"b"}}}},
				&authorizationv1.LabelSelectorAttributes{RawSelector: "a=b", Requirements: byLabels.Requirements},
			)}),
			want: []vt.Want{
				vt.Invalid("spec.resourceAttributes.fieldSelector.rawSelector", "may not specified at the same time as requirements"),
				vt.Invalid("spec.resourceAttributes.labelSelector.rawSelector", "may not specified at the same time as requirements"),
			},
		},
		{
			name: "empty selectors",
			review: sar(authorizationv1.SubjectAccessReviewSpec{User: "a", ResourceAttributes: withSelectors(
				&authorizationv1.FieldSelectorAttributes{}, &authorizationv1.LabelSelectorAttributes{},
			)}),
			want: []vt.Want{
				vt.Required("spec.resourceAttributes.fieldSelector.requirements", "when spec.resourceAttributes.fieldSelector is specified, requirements or rawSelector is required"),
				vt.Required("spec.resourceAttributes.labelSelector.requirements", "when spec.resourceAttributes.labelSelector is specified, requirements or rawSelector is required"),
			},
		},
		{
			name: "unknown operators pass, bad requirements do not",
			review: sar(authorizationv1.SubjectAccessReviewSpec{User: "a", ResourceAttributes: withSelectors(
				&authorizationv1.FieldSelectorAttributes{Requirements: []metav1.FieldSelectorRequirement{
					{Key: "a", Operator: "Near", Values: []string{"b"}},
					{Key: "a", Operator: metav1.FieldSelectorOpExists, Values: []string{"b"}},
				}},
				&authorizationv1.LabelSelectorAttributes{Requirements: []metav1.LabelSelectorRequirement{
					{Key: "a", Operator: "Near"},
					{Key: "bad key", Operator: metav1.LabelSelectorOpExists},
				}},
			)}),
			want: []vt.Want{
				vt.Forbidden("spec.resourceAttributes.fieldSelector.requirements[1].values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
				vt.Invalid("spec.resourceAttributes.labelSelector.requirements[1].key", "name part must consist of"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateSubjectAccessReview(tt.review), tt.want...)
		})
	}
}

func TestValidateSelfSubjectAccessReview(t *testing.T) {
	ssar := func(res *authorizationv1.ResourceAttributes, nonRes *authorizationv1.NonResourceAttributes) *authorizationv1.SelfSubjectAccessReview {
		return &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: res, NonResourceAttributes: nonRes}}
	}
	tests := []struct {
		name   string
		review *authorizationv1.SelfSubjectAccessReview
		want   []vt.Want
	}{
		{name: "resource, no user needed", review: ssar(getPods, nil)},
		{name: "non-resource", review: ssar(nil, healthz)},
		{name: "both", review: ssar(getPods, healthz), want: []vt.Want{vt.Invalid("spec.nonResourceAttributes", "cannot be specified in combination")}},
		{name: "neither", review: ssar(nil, nil), want: []vt.Want{vt.Invalid("spec.resourceAttributes", "exactly one of")}},
		{
			name:   "selectors",
			review: ssar(withSelectors(&authorizationv1.FieldSelectorAttributes{}, nil), nil),
			want:   []vt.Want{vt.Required("spec.resourceAttributes.fieldSelector.requirements", "")},
		},
		{
			name:   "metadata must be empty",
			review: &authorizationv1.SelfSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: "apps"}, Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: getPods}},
			want:   []vt.Want{vt.Invalid("metadata", "must be empty")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateSelfSubjectAccessReview(tt.review), tt.want...)
		})
	}
}

func TestValidateLocalSubjectAccessReview(t *testing.T) {
	lsar := func(namespace string, spec authorizationv1.SubjectAccessReviewSpec) *authorizationv1.LocalSubjectAccessReview {
		return &authorizationv1.LocalSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: namespace}, Spec: spec}
	}
	tests := []struct {
		name   string
		review *authorizationv1.LocalSubjectAccessReview
		want   []vt.Want
	}{
		{name: "valid", review: lsar("apps", authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: getPods, User: "alice"})},
		{
			name:   "resource namespace must match",
			review: lsar("other", authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: getPods, User: "alice"}),
			want:   []vt.Want{vt.Invalid("spec.resourceAttributes.namespace", "must match metadata.namespace")},
		},
		{
			name:   "no non-resource attributes",
			review: lsar("apps", authorizationv1.SubjectAccessReviewSpec{NonResourceAttributes: healthz, User: "alice"}),
			want:   []vt.Want{vt.Invalid("spec.nonResourceAttributes", "disallowed on this kind of request")},
		},
		{
			name: "metadata but namespace must be empty",
			review: &authorizationv1.LocalSubjectAccessReview{
				ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Labels: map[string]string{"a": "b"}},
				Spec:       authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: getPods, User: "alice"},
			},
			want: []vt.Want{vt.Invalid("metadata", "must be empty except for namespace")},
		},
		{
			name:   "subject access review rules apply",
			review: lsar("apps", authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: getPods}),
			want:   []vt.Want{vt.Invalid("spec.user", "at least one of user or group must be specified")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateLocalSubjectAccessReview(tt.review), tt.want...)
		})
	}
}

func TestValidateSelfSubjectRulesReview(t *testing.T) {
	// Upstream has no static rules: even an empty namespace is the
	// handler's 400, not a field error.
	for _, ns := range []string{"apps", ""} {
		vt.Expect(t, ValidateSelfSubjectRulesReview(&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}))
	}
}
