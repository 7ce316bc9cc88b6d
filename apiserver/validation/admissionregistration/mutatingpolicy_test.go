package admissionregistration

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	applyReplicas = "Object{spec: Object.spec{replicas: variables.replicas}}"
	patchLabel    = "[JSONPatch{op: 'add', path: '/metadata/labels/team', value: params.team}]"
)

func validMAP(mutate func(*admissionregistrationv1.MutatingAdmissionPolicy)) *admissionregistrationv1.MutatingAdmissionPolicy {
	p := &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "set-defaults"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			ParamKind:        &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
			MatchConstraints: matchResources(admissionregistrationv1.Create, admissionregistrationv1.Update),
			FailurePolicy:    ptr.To(admissionregistrationv1.Fail),
			MatchConditions:  []admissionregistrationv1.MatchCondition{{Name: "no-replicas", Expression: "!has(object.spec.replicas)"}},
			Variables:        []admissionregistrationv1.Variable{{Name: "replicas", Expression: "int(params.data.replicas)"}},
			Mutations: []admissionregistrationv1.Mutation{
				{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: applyReplicas}},
				{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{Expression: patchLabel}},
			},
			ReinvocationPolicy: admissionregistrationv1.IfNeededReinvocationPolicy,
		},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func TestValidateMutatingAdmissionPolicy(t *testing.T) {
	type mapol = admissionregistrationv1.MutatingAdmissionPolicy
	tests := []struct {
		name   string
		mutate func(*mapol)
		want   []wantError
	}{
		{name: "valid"},
		{name: "valid: no params, no variables, wildcard and CONNECT operations", mutate: func(p *mapol) {
			p.Spec.ParamKind, p.Spec.Variables = nil, nil
			p.Spec.MatchConstraints = matchResources(admissionregistrationv1.OperationAll)
			p.Spec.MatchConstraints.ResourceRules = append(p.Spec.MatchConstraints.ResourceRules, matchResources(admissionregistrationv1.Connect).ResourceRules...)
			p.Spec.Mutations = []admissionregistrationv1.Mutation{{
				PatchType:          admissionregistrationv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: "Object{metadata: Object.metadata{labels: {'managed': 'true'}}}"},
			}}
		}},
		{name: "static manifest name", mutate: func(p *mapol) { p.Name = "set-defaults.static.k8s.io" },
			want: []wantError{invalid("metadata.name", "reserved for static manifest-based configurations")}},
		{name: "no failurePolicy, matchConstraints, mutations or reinvocationPolicy", mutate: func(p *mapol) {
			p.Spec.FailurePolicy, p.Spec.MatchConstraints, p.Spec.Mutations, p.Spec.ReinvocationPolicy = nil, nil, nil, ""
		}, want: []wantError{
			required("spec.failurePolicy", ""),
			required("spec.matchConstraints", ""),
			required("spec.mutations", "mutations must contain at least one item"),
			required("spec.reinvocationPolicy", ""),
		}},
		{name: "unknown reinvocationPolicy", mutate: func(p *mapol) { p.Spec.ReinvocationPolicy = "Always" },
			want: []wantError{notSupported("spec.reinvocationPolicy", `supported values: "IfNeeded", "Never"`)}},
		{name: "bad paramKind and empty matchConstraints", mutate: func(p *mapol) {
			p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1"}
			p.Spec.MatchConstraints.ResourceRules = nil
		}, want: []wantError{
			required("spec.paramKind.kind", ""),
			required("spec.matchConstraints.resourceRules", ""),
		}},
		{name: "DELETE cannot be mutated", mutate: func(p *mapol) {
			p.Spec.MatchConstraints = matchResources(admissionregistrationv1.Create, admissionregistrationv1.Delete)
		}, want: []wantError{notSupported("spec.matchConstraints.resourceRules.operations", `supported values: "*", "CONNECT", "CREATE", "UPDATE"`)}},
		{name: "match condition does not compile", mutate: func(p *mapol) { p.Spec.MatchConditions[0].Expression = "object.spec.replicas" },
			want: []wantError{invalid("spec.matchConditions[0].expression", "must evaluate to bool but got dyn")}},
		{name: "bad variable", mutate: func(p *mapol) {
			p.Spec.Variables = append(p.Spec.Variables, admissionregistrationv1.Variable{Name: "1st", Expression: "params.data +"})
		}, want: []wantError{
			invalid("spec.variables[1].name", "must be a valid CEL identifier"),
			invalid("spec.variables[1].expression", "compilation failed: ERROR: <input>:1:14: Syntax error"),
		}},
		{name: "mutation without patchType", mutate: func(p *mapol) { p.Spec.Mutations[0].PatchType = "" },
			want: []wantError{required("spec.mutations[0].patchType", "")}},
		{name: "mutation with an unknown patchType", mutate: func(p *mapol) { p.Spec.Mutations[0].PatchType = "MergePatch" },
			want: []wantError{notSupported("spec.mutations[0].patchType", `supported values: "ApplyConfiguration", "JSONPatch"`)}},
		{name: "patchType without its field and with the other one", mutate: func(p *mapol) {
			p.Spec.Mutations[0].PatchType = admissionregistrationv1.PatchTypeJSONPatch
			p.Spec.Mutations[1].PatchType = admissionregistrationv1.PatchTypeApplyConfiguration
		}, want: []wantError{
			required("spec.mutations[0].jsonPatch", "must be specified when patchType is JSONPatch"),
			invalid("spec.mutations[0].applyConfiguration", "must not be specified when patchType is JSONPatch"),
			required("spec.mutations[1].applyConfiguration", "must be specified when patchType is ApplyConfiguration"),
			invalid("spec.mutations[1].jsonPatch", "must not be specified when patchType is ApplyConfiguration"),
		}},
		{name: "blank patch expressions", mutate: func(p *mapol) {
			p.Spec.Mutations[0].ApplyConfiguration.Expression = " "
			p.Spec.Mutations[1].JSONPatch.Expression = ""
		}, want: []wantError{
			required("spec.mutations[0].applyConfiguration.expression", ""),
			required("spec.mutations[1].jsonPatch.expression", ""),
		}},
		{name: "applyConfiguration does not return an Object", mutate: func(p *mapol) {
			p.Spec.Mutations[0].ApplyConfiguration.Expression = "{'spec': {'replicas': 1}}"
		}, want: []wantError{invalid("spec.mutations[0].applyConfiguration.expression", "must evaluate to Object but got map(string, map(string, int))")}},
		{name: "jsonPatch does not return a list of JSONPatch", mutate: func(p *mapol) {
			p.Spec.Mutations[1].JSONPatch.Expression = "JSONPatch{op: 'remove', path: '/spec/replicas'}"
		}, want: []wantError{invalid("spec.mutations[1].jsonPatch.expression", "must evaluate to list(JSONPatch) but got JSONPatch")}},
		{name: "patch expressions use an undefined variable and missing params", mutate: func(p *mapol) {
			p.Spec.ParamKind = nil
			p.Spec.Mutations[0].ApplyConfiguration.Expression = "Object{spec: Object.spec{replicas: variables.count}}"
		}, want: []wantError{
			invalid("spec.variables[0].expression", "undeclared reference to 'params'"),
			invalid("spec.mutations[0].applyConfiguration.expression", "undefined field 'count'"),
			invalid("spec.mutations[1].jsonPatch.expression", "undeclared reference to 'params'"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateMutatingAdmissionPolicy(validMAP(tc.mutate)), tc.want)
		})
	}
}

func TestValidateMutatingAdmissionPolicyUpdate(t *testing.T) {
	type mapol = admissionregistrationv1.MutatingAdmissionPolicy
	// includes comes with a CEL library newer than the compatibility version.
	const (
		storedApply = "Object{spec: Object.spec{replicas: [1, 2].includes(1) ? 1 : 2}}"
		storedPatch = "[JSONPatch{op: 'add', path: '/spec/replicas', value: [1, 2].includes(1) ? 1 : 2}]"
	)
	tests := []struct {
		name     string
		old, obj func(*mapol)
		want     []wantError
	}{
		{name: "valid to valid"},
		{name: "patch expressions of the old policy compile with every library",
			old: func(p *mapol) {
				p.Spec.Mutations[0].ApplyConfiguration.Expression = storedApply
				p.Spec.Mutations[1].JSONPatch.Expression = storedPatch
			},
			obj: func(p *mapol) {
				p.Spec.Mutations[0].ApplyConfiguration.Expression = storedApply
				p.Spec.Mutations[1].JSONPatch.Expression = storedPatch
				p.Spec.ReinvocationPolicy = admissionregistrationv1.NeverReinvocationPolicy
			}},
		{name: "new patch expressions do not",
			obj: func(p *mapol) {
				p.Spec.Mutations[0].ApplyConfiguration.Expression = storedApply
				p.Spec.Mutations[1].JSONPatch.Expression = storedPatch
			},
			want: []wantError{
				invalid("spec.mutations[0].applyConfiguration.expression", "undeclared reference to 'includes'"),
				invalid("spec.mutations[1].jsonPatch.expression", "undeclared reference to 'includes'"),
			}},
		{name: "unchanged match conditions are not compiled again",
			old: func(p *mapol) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 1" },
			obj: func(p *mapol) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 1" }},
		{name: "changed ones are",
			old:  func(p *mapol) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 1" },
			obj:  func(p *mapol) { p.Spec.MatchConditions[0].Expression = "variables.replicas > 2" },
			want: []wantError{invalid("spec.matchConditions[0].expression", "undeclared reference to 'variables'")}},
		{name: "static manifest names are checked on create only",
			old: func(p *mapol) { p.Name = "set-defaults.static.k8s.io" },
			obj: func(p *mapol) { p.Name = "set-defaults.static.k8s.io" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateMutatingAdmissionPolicyUpdate(validMAP(tc.obj), validMAP(tc.old)), tc.want)
		})
	}
}

func validMAPB(mutate func(*admissionregistrationv1.MutatingAdmissionPolicyBinding)) *admissionregistrationv1.MutatingAdmissionPolicyBinding {
	b := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "set-defaults-prod"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName: "set-defaults",
			ParamRef: &admissionregistrationv1.ParamRef{
				Name: "prod-defaults", Namespace: "config", ParameterNotFoundAction: ptr.To(admissionregistrationv1.AllowAction),
			},
			MatchResources: matchResources(admissionregistrationv1.Create),
		},
	}
	if mutate != nil {
		mutate(b)
	}
	return b
}

func TestValidateMutatingAdmissionPolicyBinding(t *testing.T) {
	type mapb = admissionregistrationv1.MutatingAdmissionPolicyBinding
	tests := []struct {
		name   string
		mutate func(*mapb)
		want   []wantError
	}{
		{name: "valid"},
		{name: "static manifest name", mutate: func(b *mapb) { b.Name = "prod.static.k8s.io" },
			want: []wantError{invalid("metadata.name", "reserved for static manifest-based configurations")}},
		{name: "DELETE cannot be mutated", mutate: func(b *mapb) {
			b.Spec.MatchResources.ResourceRules[0].Operations = []admissionregistrationv1.OperationType{admissionregistrationv1.Delete}
		}, want: []wantError{notSupported("spec.matchResources.resourceRules.operations", `supported values: "*", "CONNECT", "CREATE", "UPDATE"`)}},
		{name: "DELETE may be excluded", mutate: func(b *mapb) {
			b.Spec.MatchResources.ExcludeResourceRules = matchResources(admissionregistrationv1.Delete).ResourceRules
		}},
	}
	for _, c := range sharedBindingCases {
		tests = append(tests, struct {
			name   string
			mutate func(*mapb)
			want   []wantError
		}{c.name, func(b *mapb) { c.mutate(&b.Spec.PolicyName, &b.Spec.ParamRef, &b.Spec.MatchResources) }, c.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateMutatingAdmissionPolicyBinding(validMAPB(tc.mutate)), tc.want)
		})
	}
}

func TestValidateMutatingAdmissionPolicyBindingUpdate(t *testing.T) {
	old := validMAPB(func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) { b.Name = "prod.static.k8s.io" })
	t.Run("static manifest names are checked on create only", func(t *testing.T) {
		expectErrors(t, ValidateMutatingAdmissionPolicyBindingUpdate(old.DeepCopy(), old), nil)
	})
	t.Run("spec still validated", func(t *testing.T) {
		obj := old.DeepCopy()
		obj.Spec.PolicyName = ""
		expectErrors(t, ValidateMutatingAdmissionPolicyBindingUpdate(obj, old), []wantError{required("spec.policyName", "")})
	})
}
