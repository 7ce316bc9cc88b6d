package admissionregistration

import (
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// wantError is one expected validation error: its type, its field path and
// a substring of its detail.
type wantError struct {
	typ    field.ErrorType
	field  string
	detail string
}

func required(path, detail string) wantError { return wantError{field.ErrorTypeRequired, path, detail} }
func invalid(path, detail string) wantError  { return wantError{field.ErrorTypeInvalid, path, detail} }
func notSupported(path, detail string) wantError {
	return wantError{field.ErrorTypeNotSupported, path, detail}
}
func forbidden(path, detail string) wantError {
	return wantError{field.ErrorTypeForbidden, path, detail}
}
func duplicate(path string) wantError       { return wantError{field.ErrorTypeDuplicate, path, ""} }
func tooMany(path, detail string) wantError { return wantError{field.ErrorTypeTooMany, path, detail} }

// expectErrors checks that got holds exactly want, in order.
func expectErrors(t *testing.T, got field.ErrorList, want []wantError) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Type == want[i].typ && got[i].Field == want[i].field && strings.Contains(got[i].Detail, want[i].detail)
	}
	if ok {
		return
	}
	var b strings.Builder
	for _, e := range got {
		b.WriteString("\n  " + string(e.Type) + " " + e.Field + ": " + e.Detail)
	}
	var w strings.Builder
	for _, e := range want {
		w.WriteString("\n  " + string(e.typ) + " " + e.field + ": ..." + e.detail + "...")
	}
	t.Errorf("errors:%s\nwant:%s", b.String(), w.String())
}

func rule(ops ...admissionregistrationv1.OperationType) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: ops,
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"", "apps"}, APIVersions: []string{"v1"},
			Resources: []string{"pods", "pods/status", "deployments"}, Scope: ptr.To(admissionregistrationv1.AllScopes),
		},
	}
}

func matchResources(ops ...admissionregistrationv1.OperationType) *admissionregistrationv1.MatchResources {
	return &admissionregistrationv1.MatchResources{
		MatchPolicy:       ptr.To(admissionregistrationv1.Equivalent),
		NamespaceSelector: &metav1.LabelSelector{},
		ObjectSelector:    &metav1.LabelSelector{},
		ResourceRules:     []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: rule(ops...)}},
	}
}
