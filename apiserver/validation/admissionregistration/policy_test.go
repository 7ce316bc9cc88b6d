package admissionregistration

import (
	"fmt"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func validVAP(mutate func(*admissionregistrationv1.ValidatingAdmissionPolicy)) *admissionregistrationv1.ValidatingAdmissionPolicy {
	p := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "replica-limit"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			ParamKind:        &admissionregistrationv1.ParamKind{APIVersion: "example.com/v1", Kind: "ReplicaLimit"},
			MatchConstraints: matchResources(admissionregistrationv1.Create, admissionregistrationv1.Update),
			FailurePolicy:    ptr.To(admissionregistrationv1.Fail),
			MatchConditions:  []admissionregistrationv1.MatchCondition{{Name: "has-params", Expression: "params != null"}},
			Variables:        []admissionregistrationv1.Variable{{Name: "replicas", Expression: "object.spec.replicas"}},
			Validations: []admissionregistrationv1.Validation{{
				Expression:        "variables.replicas <= params.maxReplicas",
				Message:           "too many replicas",
				MessageExpression: "'at most ' + string(params.maxReplicas) + ' replicas'",
				Reason:            ptr.To(metav1.StatusReasonInvalid),
			}},
			AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "replicas", ValueExpression: "string(variables.replicas)"}},
		},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func TestValidateValidatingAdmissionPolicy(t *testing.T) {
	type vap = admissionregistrationv1.ValidatingAdmissionPolicy
	tests := []struct {
		name   string
		mutate func(*vap)
		want   []wantError
	}{
		{name: "valid"},
		{name: "valid: no params, no variables, audit annotations only", mutate: func(p *vap) {
			p.Spec.ParamKind, p.Spec.Variables, p.Spec.Validations, p.Spec.MatchConditions = nil, nil, nil, nil
			p.Spec.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "owner", ValueExpression: "string(object.metadata.name)"}}
		}},
		{name: "valid: core group paramKind", mutate: func(p *vap) { p.Spec.ParamKind.APIVersion = "v1" }},

		{name: "static manifest name", mutate: func(p *vap) { p.Name = "replica-limit.static.k8s.io" },
			want: []wantError{invalid("metadata.name", "reserved for static manifest-based configurations")}},
		{name: "no failurePolicy, matchConstraints, validations or auditAnnotations", mutate: func(p *vap) {
			p.Spec.FailurePolicy, p.Spec.MatchConstraints, p.Spec.Validations, p.Spec.AuditAnnotations = nil, nil, nil, nil
		}, want: []wantError{
			required("spec.failurePolicy", ""),
			required("spec.matchConstraints", ""),
			required("spec.validations", "validations or auditAnnotations must contain at least one item"),
			required("spec.auditAnnotations", "validations or auditAnnotations must contain at least one item"),
		}},
		{name: "unknown failurePolicy", mutate: func(p *vap) { p.Spec.FailurePolicy = ptr.To(admissionregistrationv1.FailurePolicyType("Retry")) },
			want: []wantError{notSupported("spec.failurePolicy", `supported values: "Fail", "Ignore"`)}},

		// paramKind
		{name: "paramKind without apiVersion and kind", mutate: func(p *vap) { p.Spec.ParamKind = &admissionregistrationv1.ParamKind{} },
			want: []wantError{required("spec.paramKind.apiVersion", ""), required("spec.paramKind.kind", "")}},
		{name: "paramKind with a bad group, version and kind", mutate: func(p *vap) {
			p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "Example_com/1beta", Kind: "Replica.Limit"}
		}, want: []wantError{
			invalid("spec.paramKind.apiVersion", "a lowercase RFC 1123 subdomain"),
			invalid("spec.paramKind.apiVersion", "a DNS-1035 label"),
			invalid("spec.paramKind.kind", "may have mixed case, but should otherwise match: a DNS-1035 label"),
		}},
		{name: "paramKind apiVersion with two slashes", mutate: func(p *vap) { p.Spec.ParamKind.APIVersion = "a/b/c" },
			want: []wantError{invalid("spec.paramKind.apiVersion", "unexpected GroupVersion string: a/b/c")}},
		{name: "paramKind apiVersion without version", mutate: func(p *vap) { p.Spec.ParamKind.APIVersion = "example.com/" },
			want: []wantError{invalid("spec.paramKind.apiVersion", "version must be specified")}},

		// matchConstraints
		{name: "matchConstraints without matchPolicy, selectors or resource rules", mutate: func(p *vap) {
			p.Spec.MatchConstraints = &admissionregistrationv1.MatchResources{}
		}, want: []wantError{
			required("spec.matchConstraints.matchPolicy", ""),
			required("spec.matchConstraints.namespaceSelector", ""),
			required("spec.matchConstraints.objectSelector", ""),
			required("spec.matchConstraints.resourceRules", ""),
		}},
		{name: "matchConstraints with bad values", mutate: func(p *vap) {
			m := p.Spec.MatchConstraints
			m.MatchPolicy = ptr.To(admissionregistrationv1.MatchPolicyType("Fuzzy"))
			m.NamespaceSelector = badValueSelector("a b")
			m.ResourceRules[0].ResourceNames = []string{"a", "b/c", "..", "a"}
			m.ExcludeResourceRules = []admissionregistrationv1.NamedRuleWithOperations{{}}
		}, want: []wantError{
			notSupported("spec.matchConstraints.matchPolicy", `supported values: "Equivalent", "Exact"`),
			invalid("spec.matchConstraints.namespaceSelector.matchExpressions[0].values[0]", "a valid label must be an empty string"),
			invalid("spec.matchConstraints.resourceRules[0].resourceNames[1]", "may not contain '/'"),
			invalid("spec.matchConstraints.resourceRules[0].resourceNames[2]", "may not be '..'"),
			duplicate("spec.matchConstraints.resourceRules[0].resourceNames[3]"),
			required("spec.matchConstraints.excludeResourceRules[0].operations", ""),
			required("spec.matchConstraints.excludeResourceRules[0].apiGroups", ""),
			required("spec.matchConstraints.excludeResourceRules[0].apiVersions", ""),
			required("spec.matchConstraints.excludeResourceRules[0].resources", ""),
		}},

		// matchConditions
		{name: "match condition can use params only with a paramKind", mutate: func(p *vap) { p.Spec.ParamKind = nil },
			want: []wantError{
				invalid("spec.matchConditions[0].expression", "undeclared reference to 'params'"),
				invalid("spec.validations[0].expression", "undeclared reference to 'params'"),
				invalid("spec.validations[0].messageExpression", "undeclared reference to 'params'"),
			}},
		{name: "match condition cannot use variables", mutate: func(p *vap) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 1" },
			want: []wantError{invalid("spec.matchConditions[0].expression", "undeclared reference to 'variables'")}},

		// variables
		{name: "variable without name or expression", mutate: func(p *vap) {
			p.Spec.Variables = append(p.Spec.Variables, admissionregistrationv1.Variable{Name: " ", Expression: " "})
		}, want: []wantError{
			required("spec.variables[1].name", "name is not specified"),
			required("spec.variables[1].expression", "expression is not specified"),
		}},
		{name: "variable names must be CEL identifiers", mutate: func(p *vap) {
			p.Spec.Variables = append(p.Spec.Variables,
				admissionregistrationv1.Variable{Name: "max-replicas", Expression: "1"},
				admissionregistrationv1.Variable{Name: "namespace", Expression: "1"})
		}, want: []wantError{
			invalid("spec.variables[1].name", "must be a valid CEL identifier"),
			invalid("spec.variables[2].name", "must be a valid CEL identifier"),
		}},
		{name: "variable does not compile", mutate: func(p *vap) { p.Spec.Variables[0].Expression = "object.spec.replicas +" },
			want: []wantError{invalid("spec.variables[0].expression", "compilation failed: ERROR: <input>:1:23: Syntax error")}},
		{name: "variable may use earlier variables but not later ones", mutate: func(p *vap) {
			p.Spec.Variables = []admissionregistrationv1.Variable{
				{Name: "a", Expression: "1"}, {Name: "b", Expression: "variables.a + variables.c"}, {Name: "c", Expression: "2"},
			}
			p.Spec.Validations[0].Expression = "variables.b + variables.c > 0"
			p.Spec.AuditAnnotations[0].ValueExpression = "string(variables.a)"
		}, want: []wantError{invalid("spec.variables[1].expression", "undefined field 'c'")}},

		// validations
		{name: "validation without expression", mutate: func(p *vap) { p.Spec.Validations[0].Expression = "  " },
			want: []wantError{required("spec.validations[0].expression", "expression is not specified")}},
		{name: "validation does not compile", mutate: func(p *vap) { p.Spec.Validations[0].Expression = "object.spec.replicas >" },
			want: []wantError{invalid("spec.validations[0].expression", "compilation failed: ERROR: <input>:1:23: Syntax error")}},
		{name: "validation is not a bool", mutate: func(p *vap) { p.Spec.Validations[0].Expression = "'a' + 'b'" },
			want: []wantError{invalid("spec.validations[0].expression", "must evaluate to bool but got string")}},
		{name: "validation uses a library newer than the compatibility version", mutate: func(p *vap) {
			p.Spec.Validations[0].Expression = "[1, 2].includes(1)"
		}, want: []wantError{invalid("spec.validations[0].expression", "undeclared reference to 'includes'")}},
		{name: "validation uses an undefined variable", mutate: func(p *vap) { p.Spec.Validations[0].Expression = "variables.limit > 0" },
			want: []wantError{invalid("spec.validations[0].expression", "undefined field 'limit'")}},
		{name: "validation uses variables without any declared", mutate: func(p *vap) {
			p.Spec.Variables = nil
			p.Spec.AuditAnnotations = nil
		}, want: []wantError{invalid("spec.validations[0].expression", "undeclared reference to 'variables'")}},
		{name: "messageExpression blank", mutate: func(p *vap) { p.Spec.Validations[0].MessageExpression = " " },
			want: []wantError{invalid("spec.validations[0].messageExpression", "must be non-empty if specified")}},
		{name: "messageExpression not a string", mutate: func(p *vap) { p.Spec.Validations[0].MessageExpression = "params.maxReplicas + 1" },
			want: []wantError{invalid("spec.validations[0].messageExpression", "must evaluate to string but got")}},
		{name: "messageExpression cannot use the authorizer", mutate: func(p *vap) {
			p.Spec.Validations[0].MessageExpression = "authorizer.path('/healthz').check('get').reason()"
		}, want: []wantError{invalid("spec.validations[0].messageExpression", "undeclared reference to 'authorizer'")}},
		{name: "message blank or with line breaks", mutate: func(p *vap) {
			p.Spec.Validations[0].Message = "  "
			p.Spec.Validations = append(p.Spec.Validations, admissionregistrationv1.Validation{Expression: "true", Message: "too\nmany"})
		}, want: []wantError{
			invalid("spec.validations[0].message", "must be non-empty if specified"),
			invalid("spec.validations[1].message", "must not contain line breaks"),
		}},
		{name: "unsupported reason", mutate: func(p *vap) { p.Spec.Validations[0].Reason = ptr.To(metav1.StatusReasonNotFound) },
			want: []wantError{notSupported("spec.validations[0].reason", `supported values: "Forbidden", "Invalid", "RequestEntityTooLarge"`)}},

		// auditAnnotations
		{name: "audit annotation key must make a qualified name with the policy's", mutate: func(p *vap) {
			p.Spec.AuditAnnotations[0].Key = "bad key"
		}, want: []wantError{invalid("spec.auditAnnotations[0].key", "name part must consist of alphanumeric characters")}},
		{name: "audit annotation key needs a policy name", mutate: func(p *vap) { p.Name = ""; p.GenerateName = "replica-limit-" },
			want: []wantError{
				required("metadata.name", "name or generateName is required"),
				invalid("spec.auditAnnotations[0].key", "requires metadata.name be non-empty"),
			}},
		{name: "audit annotation duplicate key and missing value", mutate: func(p *vap) {
			p.Spec.AuditAnnotations = append(p.Spec.AuditAnnotations, admissionregistrationv1.AuditAnnotation{Key: "replicas", ValueExpression: " "})
		}, want: []wantError{
			required("spec.auditAnnotations[1].valueExpression", "valueExpression is not specified"),
			duplicate("spec.auditAnnotations[1].key"),
		}},
		{name: "audit annotation value too long", mutate: func(p *vap) {
			p.Spec.AuditAnnotations[0].ValueExpression = "'" + strings.Repeat("a", 5*1024) + "'"
		}, want: []wantError{required("spec.auditAnnotations[0].valueExpression", "must not exceed 5120 bytes in length")}},
		{name: "audit annotation value not a string", mutate: func(p *vap) { p.Spec.AuditAnnotations[0].ValueExpression = "variables.replicas > 1" },
			want: []wantError{invalid("spec.auditAnnotations[0].valueExpression", "must evaluate to one of [string null_type] but got bool")}},
		{name: "too many audit annotations", mutate: func(p *vap) {
			p.Spec.AuditAnnotations = nil
			for i := range 21 {
				p.Spec.AuditAnnotations = append(p.Spec.AuditAnnotations, admissionregistrationv1.AuditAnnotation{Key: fmt.Sprintf("k%d", i), ValueExpression: "'v'"})
			}
		}, want: []wantError{invalid("spec.auditAnnotations", "must not have more than 20 auditAnnotations")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateValidatingAdmissionPolicy(validVAP(tc.mutate)), tc.want)
		})
	}
}

func TestValidateValidatingAdmissionPolicyUpdate(t *testing.T) {
	type vap = admissionregistrationv1.ValidatingAdmissionPolicy
	const newer = "[1, 2].includes(1)"
	tests := []struct {
		name     string
		old, obj func(*vap)
		want     []wantError
	}{
		{name: "valid to valid"},
		{name: "expressions of the old policy compile with every library",
			old: func(p *vap) {
				p.Spec.Validations[0].Expression = newer
				p.Spec.Validations[0].MessageExpression = "[1, 2].includes(1) ? 'a' : 'b'"
				p.Spec.AuditAnnotations[0].ValueExpression = "[1, 2].includes(1) ? 'a' : 'b'"
			},
			obj: func(p *vap) {
				p.Spec.Validations[0].Expression = newer
				p.Spec.Validations[0].MessageExpression = "[1, 2].includes(1) ? 'a' : 'b'"
				p.Spec.AuditAnnotations[0].ValueExpression = "[1, 2].includes(1) ? 'a' : 'b'"
				p.Spec.FailurePolicy = ptr.To(admissionregistrationv1.Ignore)
			}},
		{name: "new expressions do not",
			obj: func(p *vap) {
				p.Spec.Validations[0].Expression = newer
				p.Spec.AuditAnnotations[0].ValueExpression = "[1, 2].includes(1) ? 'a' : 'b'"
			},
			want: []wantError{
				invalid("spec.validations[0].expression", "undeclared reference to 'includes'"),
				invalid("spec.auditAnnotations[0].valueExpression", "undeclared reference to 'includes'"),
			}},
		{name: "unchanged match conditions are not compiled again",
			old: func(p *vap) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 1" },
			obj: func(p *vap) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 1" }},
		{name: "a paramKind change compiles them again",
			old: func(p *vap) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 1" },
			obj: func(p *vap) {
				p.Spec.MatchConditions[0].Expression = "variables.replicas > 1"
				p.Spec.ParamKind.Kind = "OtherLimit"
			},
			want: []wantError{invalid("spec.matchConditions[0].expression", "undeclared reference to 'variables'")}},
		{name: "static manifest names are checked on create only",
			old: func(p *vap) { p.Name = "replica-limit.static.k8s.io" },
			obj: func(p *vap) { p.Name = "replica-limit.static.k8s.io" }},
		{name: "spec still validated",
			obj:  func(p *vap) { p.Spec.Validations[0].Reason = ptr.To(metav1.StatusReasonConflict) },
			want: []wantError{notSupported("spec.validations[0].reason", `"Forbidden", "Invalid", "RequestEntityTooLarge"`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateValidatingAdmissionPolicyUpdate(validVAP(tc.obj), validVAP(tc.old)), tc.want)
		})
	}
}

func TestValidateValidatingAdmissionPolicyStatusUpdate(t *testing.T) {
	condition := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Checked", LastTransitionTime: metav1.Now()}
	tests := []struct {
		name   string
		status admissionregistrationv1.ValidatingAdmissionPolicyStatus
		want   []wantError
	}{
		{name: "empty"},
		{name: "valid", status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{
			ObservedGeneration: 2,
			TypeChecking: &admissionregistrationv1.TypeChecking{ExpressionWarnings: []admissionregistrationv1.ExpressionWarning{
				{FieldRef: "spec.validations[0].expression", Warning: "no such field 'replica'"},
			}},
			Conditions: []metav1.Condition{condition},
		}},
		{name: "warning without text or field", status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{
			TypeChecking: &admissionregistrationv1.TypeChecking{ExpressionWarnings: []admissionregistrationv1.ExpressionWarning{{FieldRef: " "}}},
		}, want: []wantError{
			required("status.typeChecking.expressionWarnings[0].warning", ""),
			required("status.typeChecking.expressionWarnings[0].fieldRef", ""),
		}},
		{name: "warning with a bad JSONPath", status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{
			TypeChecking: &admissionregistrationv1.TypeChecking{ExpressionWarnings: []admissionregistrationv1.ExpressionWarning{
				{FieldRef: "spec.validations[0", Warning: "w"},
			}},
		}, want: []wantError{invalid("status.typeChecking.expressionWarnings[0].fieldRef", "invalid JSONPath: ")}},
		{name: "bad and duplicate conditions", status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{
			Conditions: []metav1.Condition{condition, condition, {Type: "Bad Type", Status: "Maybe", Reason: "R", LastTransitionTime: metav1.Now()}},
		}, want: []wantError{
			duplicate("status.conditions[1]"),
			invalid("status.conditions[2].type", "name part must consist of alphanumeric characters"),
			notSupported("status.conditions[2].status", `"False", "True", "Unknown"`),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := validVAP(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
				p.Status = tc.status
				// The spec is not the status update's concern.
				p.Spec = admissionregistrationv1.ValidatingAdmissionPolicySpec{}
			})
			expectErrors(t, ValidateValidatingAdmissionPolicyStatusUpdate(obj, validVAP(nil)), tc.want)
		})
	}
}

func validVAPB(mutate func(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "replica-limit-prod"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: "replica-limit",
			ParamRef: &admissionregistrationv1.ParamRef{
				Name: "prod-limit", Namespace: "limits", ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction),
			},
			MatchResources:    matchResources(admissionregistrationv1.OperationAll),
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny, admissionregistrationv1.Audit},
		},
	}
	if mutate != nil {
		mutate(b)
	}
	return b
}

// bindingCase changes the spec fields both kinds of binding have.
type bindingCase struct {
	name   string
	mutate func(policyName *string, ref **admissionregistrationv1.ParamRef, match **admissionregistrationv1.MatchResources)
	want   []wantError
}

// sharedBindingCases are the policyName, paramRef and matchResources checks
// both kinds of binding share.
var sharedBindingCases = []bindingCase{
	{name: "no policyName", mutate: func(n *string, _ **admissionregistrationv1.ParamRef, _ **admissionregistrationv1.MatchResources) {
		*n = ""
	},
		want: []wantError{required("spec.policyName", "")}},
	{name: "policyName not a DNS subdomain", mutate: func(n *string, _ **admissionregistrationv1.ParamRef, _ **admissionregistrationv1.MatchResources) {
		*n = "Replica_Limit"
	}, want: []wantError{invalid("spec.policyName", "a lowercase RFC 1123 subdomain")}},
	{name: "no paramRef and no matchResources are valid", mutate: func(_ *string, r **admissionregistrationv1.ParamRef, m **admissionregistrationv1.MatchResources) {
		*r, *m = nil, nil
	}},
	{name: "paramRef with a selector", mutate: func(_ *string, r **admissionregistrationv1.ParamRef, _ **admissionregistrationv1.MatchResources) {
		*r = &admissionregistrationv1.ParamRef{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, ParameterNotFoundAction: ptr.To(admissionregistrationv1.AllowAction)}
	}},
	{name: "paramRef with neither name nor selector nor action", mutate: func(_ *string, r **admissionregistrationv1.ParamRef, _ **admissionregistrationv1.MatchResources) {
		*r = &admissionregistrationv1.ParamRef{Namespace: "limits"}
	}, want: []wantError{
		required("spec.paramRef", "one of name or selector must be specified"),
		required("spec.paramRef.parameterNotFoundAction", ""),
	}},
	{name: "paramRef with both name and selector, bad name, unknown action", mutate: func(_ *string, r **admissionregistrationv1.ParamRef, _ **admissionregistrationv1.MatchResources) {
		*r = &admissionregistrationv1.ParamRef{
			Name: "a/b", Selector: badValueSelector("x y"),
			ParameterNotFoundAction: ptr.To(admissionregistrationv1.ParameterNotFoundActionType("Ignore")),
		}
	}, want: []wantError{
		invalid("spec.paramRef.name", "may not contain '/'"),
		forbidden("spec.paramRef.name", "name and selector are mutually exclusive"),
		invalid("spec.paramRef.selector.matchExpressions[0].values[0]", "a valid label must be an empty string"),
		forbidden("spec.paramRef.selector", "name and selector are mutually exclusive"),
		notSupported("spec.paramRef.parameterNotFoundAction", `supported values: "Deny", "Allow"`),
	}},
	{name: "matchResources without matchPolicy or selectors", mutate: func(_ *string, _ **admissionregistrationv1.ParamRef, m **admissionregistrationv1.MatchResources) {
		*m = &admissionregistrationv1.MatchResources{}
	}, want: []wantError{
		required("spec.matchResources.matchPolicy", ""),
		required("spec.matchResources.namespaceSelector", ""),
		required("spec.matchResources.objectSelector", ""),
	}},
}

func TestValidateValidatingAdmissionPolicyBinding(t *testing.T) {
	type vapb = admissionregistrationv1.ValidatingAdmissionPolicyBinding
	tests := []struct {
		name   string
		mutate func(*vapb)
		want   []wantError
	}{
		{name: "valid"},
		{name: "static manifest name", mutate: func(b *vapb) { b.Name = "prod.static.k8s.io" },
			want: []wantError{invalid("metadata.name", "reserved for static manifest-based configurations")}},
		{name: "no validationActions", mutate: func(b *vapb) { b.Spec.ValidationActions = nil },
			want: []wantError{required("spec.validationActions", "at least one validation action is required")}},
		{name: "unknown, duplicate and conflicting validationActions", mutate: func(b *vapb) {
			b.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{"Deny", "Log", "Warn", "Deny"}
		}, want: []wantError{
			notSupported("spec.validationActions[1]", `supported values: "Audit", "Deny", "Warn"`),
			duplicate("spec.validationActions[3]"),
			invalid("spec.validationActions", "must not contain both Deny and Warn"),
		}},
		{name: "DELETE may be matched", mutate: func(b *vapb) {
			b.Spec.MatchResources.ResourceRules[0].Operations = []admissionregistrationv1.OperationType{admissionregistrationv1.Delete}
		}},
	}
	for _, c := range sharedBindingCases {
		tests = append(tests, struct {
			name   string
			mutate func(*vapb)
			want   []wantError
		}{c.name, func(b *vapb) { c.mutate(&b.Spec.PolicyName, &b.Spec.ParamRef, &b.Spec.MatchResources) }, c.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateValidatingAdmissionPolicyBinding(validVAPB(tc.mutate)), tc.want)
		})
	}
}

func TestValidateValidatingAdmissionPolicyBindingUpdate(t *testing.T) {
	old := validVAPB(func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) { b.Name = "prod.static.k8s.io" })
	t.Run("static manifest names are checked on create only", func(t *testing.T) {
		expectErrors(t, ValidateValidatingAdmissionPolicyBindingUpdate(old.DeepCopy(), old), nil)
	})
	t.Run("spec still validated", func(t *testing.T) {
		obj := old.DeepCopy()
		obj.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{"Warn", "Deny"}
		expectErrors(t, ValidateValidatingAdmissionPolicyBindingUpdate(obj, old), []wantError{invalid("spec.validationActions", "must not contain both Deny and Warn")})
	})
}
