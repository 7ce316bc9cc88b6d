package flowcontrol

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/defaults"
	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func flowSchema(name string, mutate func(*flowcontrolv1.FlowSchemaSpec)) *flowcontrolv1.FlowSchema {
	fs := &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-low"},
			MatchingPrecedence:         500,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "system:serviceaccounts"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
					Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, ClusterScope: true, Namespaces: []string{"*"},
				}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/apis/*"}}},
			}},
		},
	}
	if mutate != nil {
		mutate(&fs.Spec)
	}
	return fs
}

func TestValidateFlowSchema(t *testing.T) {
	tests := []struct {
		name string
		fs   *flowcontrolv1.FlowSchema
		want []vt.Want
	}{
		{name: "valid", fs: flowSchema("service-accounts", nil)},
		{name: "exempt may have precedence 1", fs: flowSchema("exempt-like", func(s *flowcontrolv1.FlowSchemaSpec) { s.MatchingPrecedence = 2 })},
		{
			name: "precedence",
			fs:   flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) { s.MatchingPrecedence = 1 }),
			want: []vt.Want{vt.Invalid("spec.matchingPrecedence", "only the schema named 'exempt' may have matchingPrecedence 1")},
		},
		{
			name: "precedence bounds",
			fs:   flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) { s.MatchingPrecedence = 10001 }),
			want: []vt.Want{vt.Invalid("spec.matchingPrecedence", "must not be greater than 10000")},
		},
		{
			name: "negative precedence",
			fs:   flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) { s.MatchingPrecedence = -1 }),
			want: []vt.Want{vt.Invalid("spec.matchingPrecedence", "must be a positive value")},
		},
		{
			name: "distinguisher and priority level",
			fs: flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) {
				s.DistinguisherMethod.Type = "ByColour"
				s.PriorityLevelConfiguration.Name = ""
			}),
			want: []vt.Want{
				vt.NotSupported("spec.distinguisherMethod.type", `supported values: "ByNamespace", "ByUser"`),
				vt.Required("spec.priorityLevelConfiguration.name", "must reference a priority level"),
			},
		},
		{
			name: "subjects",
			fs: flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) {
				s.Rules[0].Subjects = []flowcontrolv1.Subject{
					{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "*"}, User: &flowcontrolv1.UserSubject{}},
					{Kind: flowcontrolv1.SubjectKindUser, Group: &flowcontrolv1.GroupSubject{Name: "g"}},
					{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{}},
					{Kind: "Robot"},
					{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "Bad_Name", Namespace: "Bad.NS"}},
				}
			}),
			want: []vt.Want{
				vt.Required("spec.rules[0].subjects[0].serviceAccount.namespace", "must specify namespace for service account"),
				vt.Forbidden("spec.rules[0].subjects[0].user", "user is forbidden when subject kind is not 'User'"),
				vt.Required("spec.rules[0].subjects[1].user", "user is required when subject kind is 'User'"),
				vt.Forbidden("spec.rules[0].subjects[1].group", "group is forbidden when subject kind is not 'Group'"),
				vt.Required("spec.rules[0].subjects[2].group.name", ""),
				vt.NotSupported("spec.rules[0].subjects[3].kind", `supported values: "Group", "ServiceAccount", "User"`),
				vt.Invalid("spec.rules[0].subjects[4].serviceAccount.name", "a lowercase RFC 1123 subdomain"),
				vt.Invalid("spec.rules[0].subjects[4].serviceAccount.namespace", "a lowercase RFC 1123 label"),
			},
		},
		{
			name: "empty rule",
			fs: flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) {
				s.Rules = []flowcontrolv1.PolicyRulesWithSubjects{{}}
			}),
			want: []vt.Want{
				vt.Required("spec.rules[0].subjects", "subjects must contain at least one value"),
				vt.Required("spec.rules[0]", "at least one of resourceRules and nonResourceRules has to be non-empty"),
			},
		},
		{
			name: "resource rules",
			fs: flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) {
				s.Rules[0].ResourceRules = []flowcontrolv1.ResourcePolicyRule{
					{},
					{Verbs: []string{"*", "get"}, APIGroups: []string{"*", "apps"}, Resources: []string{"*", "pods"}, Namespaces: []string{"*", "a"}},
					{Verbs: []string{"get", "fly"}, APIGroups: []string{""}, Resources: []string{"pods"}, Namespaces: []string{"Bad_NS"}},
				}
			}),
			want: []vt.Want{
				vt.Required("spec.rules[0].resourceRules[0].verbs", "verbs must contain at least one value"),
				vt.Required("spec.rules[0].resourceRules[0].apiGroups", "resource rules must supply at least one api group"),
				vt.Required("spec.rules[0].resourceRules[0].resources", "resource rules must supply at least one resource"),
				vt.Required("spec.rules[0].resourceRules[0].namespaces", "resource rules that are not cluster scoped must supply at least one namespace"),
				vt.Invalid("spec.rules[0].resourceRules[1].verbs", "if '*' is present, must not specify other verbs"),
				vt.Invalid("spec.rules[0].resourceRules[1].apiGroups", "if '*' is present, must not specify other api groups"),
				vt.Invalid("spec.rules[0].resourceRules[1].resources", "if '*' is present, must not specify other resources"),
				vt.Invalid("spec.rules[0].resourceRules[1].namespaces", "if '*' is present, must not specify other namespaces"),
				vt.NotSupported("spec.rules[0].resourceRules[2].verbs", `supported values: "create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"`),
				vt.Invalid("spec.rules[0].resourceRules[2].namespaces[0]", "each member of this list must be '*' or a DNS-1123 label; a lowercase RFC 1123 label"),
			},
		},
		{
			name: "non-resource rules",
			fs: flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) {
				s.Rules[0].NonResourceRules = []flowcontrolv1.NonResourcePolicyRule{
					{Verbs: []string{"get"}},
					{Verbs: []string{"get"}, NonResourceURLs: []string{"*", "/a"}},
					{Verbs: []string{"get"}, NonResourceURLs: []string{"", "/", "a", "/a b", "/a//b", "/a*", "/*/*"}},
				}
			}),
			want: []vt.Want{
				vt.Required("spec.rules[0].nonResourceRules[0].nonResourceURLs", "nonResourceURLs must contain at least one value"),
				vt.Invalid("spec.rules[0].nonResourceRules[1].nonResourceURLs", "if '*' is present, must not specify other non-resource URLs"),
				vt.Invalid("spec.rules[0].nonResourceRules[2].nonResourceURLs[0]", "must not be empty"),
				vt.Invalid("spec.rules[0].nonResourceRules[2].nonResourceURLs[2]", "must start with slash"),
				vt.Invalid("spec.rules[0].nonResourceRules[2].nonResourceURLs[3]", "must not contain white-space"),
				vt.Invalid("spec.rules[0].nonResourceRules[2].nonResourceURLs[4]", "must not contain double slash"),
				vt.Invalid("spec.rules[0].nonResourceRules[2].nonResourceURLs[5]", "wildcard can only do suffix matching"),
				vt.Invalid("spec.rules[0].nonResourceRules[2].nonResourceURLs[6]", "wildcard can only do suffix matching"),
			},
		},
		{
			name: "mandatory schema is fixed",
			fs:   flowSchema("catch-all", nil),
			want: []vt.Want{vt.Invalid("spec", "spec of 'catch-all' must equal the fixed value")},
		},
		{
			name: "status conditions",
			fs: func() *flowcontrolv1.FlowSchema {
				fs := flowSchema("a", nil)
				fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}, {}}
				return fs
			}(),
			want: []vt.Want{
				{Type: "FieldValueDuplicate", Field: "status.conditions[1].type"},
				vt.Required("status.conditions[2].type", "must not be empty"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateFlowSchema(tt.fs), tt.want...)
		})
	}
}

func TestValidateFlowSchemaUpdates(t *testing.T) {
	old := flowSchema("a", nil)
	vt.Expect(t, ValidateFlowSchemaUpdate(flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) { s.MatchingPrecedence = 9000 }), old))
	vt.Expect(t, ValidateFlowSchemaUpdate(flowSchema("b", func(s *flowcontrolv1.FlowSchemaSpec) { s.MatchingPrecedence = 0 }), old),
		vt.Invalid("metadata.name", "field is immutable"),
		vt.Invalid("spec.matchingPrecedence", "must be a positive value"))
	withStatus := flowSchema("a", func(s *flowcontrolv1.FlowSchemaSpec) { s.MatchingPrecedence = -5 })
	withStatus.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling", Status: "True"}}
	vt.Expect(t, ValidateFlowSchemaStatusUpdate(withStatus, old))
	withStatus.Status.Conditions = append(withStatus.Status.Conditions, flowcontrolv1.FlowSchemaCondition{})
	vt.Expect(t, ValidateFlowSchemaStatusUpdate(withStatus, old), vt.Required("status.conditions[1].type", "must not be empty"))
}

func priorityLevel(name string, spec flowcontrolv1.PriorityLevelConfigurationSpec) *flowcontrolv1.PriorityLevelConfiguration {
	return &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"}, Spec: spec}
}

func limited(mutate func(*flowcontrolv1.LimitedPriorityLevelConfiguration)) flowcontrolv1.PriorityLevelConfigurationSpec {
	l := &flowcontrolv1.LimitedPriorityLevelConfiguration{
		NominalConcurrencyShares: ptr.To[int32](30),
		LendablePercent:          ptr.To[int32](0),
		LimitResponse: flowcontrolv1.LimitResponse{
			Type:    flowcontrolv1.LimitResponseTypeQueue,
			Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 6, QueueLengthLimit: 50},
		},
	}
	if mutate != nil {
		mutate(l)
	}
	return flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: l}
}

func TestValidatePriorityLevelConfiguration(t *testing.T) {
	tests := []struct {
		name string
		pl   *flowcontrolv1.PriorityLevelConfiguration
		want []vt.Want
	}{
		{name: "limited", pl: priorityLevel("batch", limited(nil))},
		{name: "zero shares, reject", pl: priorityLevel("batch", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
			l.NominalConcurrencyShares = ptr.To[int32](0)
			l.LimitResponse = flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}
			l.BorrowingLimitPercent = ptr.To[int32](300)
		}))},
		{name: "exempt may tune spec.exempt", pl: priorityLevel("exempt", flowcontrolv1.PriorityLevelConfigurationSpec{
			Type:   flowcontrolv1.PriorityLevelEnablementExempt,
			Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](5), LendablePercent: ptr.To[int32](10)},
		})},
		{
			name: "type and name",
			pl:   priorityLevel("exempt", limited(nil)),
			want: []vt.Want{
				vt.Invalid("spec.type", "type must be 'Exempt' if and only if name is 'exempt'"),
				vt.Invalid("spec", "spec of 'exempt' except the 'spec.exempt' field must equal the fixed value"),
			},
		},
		{
			name: "exempt type elsewhere",
			pl: priorityLevel("mine", flowcontrolv1.PriorityLevelConfigurationSpec{
				Type:    flowcontrolv1.PriorityLevelEnablementExempt,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{},
				Exempt:  &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](-1), LendablePercent: ptr.To[int32](101)},
			}),
			want: []vt.Want{
				vt.Invalid("spec.type", "type must be 'Exempt' if and only if name is 'exempt'"),
				vt.Forbidden("spec.limited", "must be nil if the type is not Limited"),
				vt.Invalid("spec.exempt.nominalConcurrencyShares", "must be a non-negative integer"),
				vt.Invalid("spec.exempt.lendablePercent", "must be between 0 and 100, inclusive"),
			},
		},
		{
			name: "limited without config, with exempt",
			pl: priorityLevel("mine", flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited, Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{},
			}),
			want: []vt.Want{
				vt.Forbidden("spec.exempt", "must be nil if the type is Limited"),
				vt.Required("spec.limited", "must not be empty when type is Limited"),
			},
		},
		{
			name: "unknown type",
			pl:   priorityLevel("mine", flowcontrolv1.PriorityLevelConfigurationSpec{Type: "Unlimited"}),
			want: []vt.Want{vt.NotSupported("spec.type", `supported values: "Exempt", "Limited"`)},
		},
		{
			name: "limited fields",
			pl: priorityLevel("mine", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
				l.NominalConcurrencyShares = ptr.To[int32](-1)
				l.LendablePercent = ptr.To[int32](-1)
				l.BorrowingLimitPercent = ptr.To[int32](-1)
				l.LimitResponse.Type = flowcontrolv1.LimitResponseTypeReject
			})),
			want: []vt.Want{
				vt.Invalid("spec.limited.nominalConcurrencyShares", "must be a non-negative integer"),
				vt.Invalid("spec.limited.lendablePercent", "must be between 0 and 100, inclusive"),
				vt.Invalid("spec.limited.borrowingLimitPercent", "if specified, must be a non-negative integer"),
				vt.Forbidden("spec.limited.limitResponse.queuing", "must be nil if limited.limitResponse.type is not Limited"),
			},
		},
		{
			name: "queue response",
			pl: priorityLevel("mine", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
				l.LimitResponse.Queuing = nil
			})),
			want: []vt.Want{vt.Required("spec.limited.limitResponse.queuing", "must not be empty if limited.limitResponse.type is Limited")},
		},
		{
			name: "unknown response",
			pl: priorityLevel("mine", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
				l.LimitResponse.Type = "Drop"
			})),
			want: []vt.Want{vt.NotSupported("spec.limited.limitResponse.type", `supported values: "Queue", "Reject"`)},
		},
		{
			name: "queuing bounds",
			pl: priorityLevel("mine", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
				l.LimitResponse.Queuing = &flowcontrolv1.QueuingConfiguration{Queues: 10000001, HandSize: 0, QueueLengthLimit: 0}
			})),
			want: []vt.Want{
				vt.Invalid("spec.limited.limitResponse.queuing.queueLengthLimit", "must be positive"),
				vt.Invalid("spec.limited.limitResponse.queuing.queues", "must not be greater than 10000000"),
				vt.Invalid("spec.limited.limitResponse.queuing.handSize", "must be positive"),
			},
		},
		{
			name: "hand size",
			pl: priorityLevel("mine", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
				l.LimitResponse.Queuing = &flowcontrolv1.QueuingConfiguration{Queues: 4, HandSize: 5, QueueLengthLimit: 1}
			})),
			want: []vt.Want{vt.Invalid("spec.limited.limitResponse.queuing.handSize", "should not be greater than queues (4)")},
		},
		{
			name: "entropy",
			pl: priorityLevel("mine", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
				l.LimitResponse.Queuing = &flowcontrolv1.QueuingConfiguration{Queues: 10000000, HandSize: 100, QueueLengthLimit: 1}
			})),
			want: []vt.Want{vt.Invalid("spec.limited.limitResponse.queuing.handSize", "required entropy bits of deckSize 10000000 and handSize 100 should not be greater than 60")},
		},
		{
			name: "catch-all is fixed",
			pl:   priorityLevel("catch-all", limited(nil)),
			want: []vt.Want{vt.Invalid("spec", "spec of 'catch-all' must equal the fixed value")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidatePriorityLevelConfiguration(tt.pl), tt.want...)
		})
	}
}

func TestValidatePriorityLevelConfigurationUpdates(t *testing.T) {
	old := priorityLevel("batch", limited(nil))
	vt.Expect(t, ValidatePriorityLevelConfigurationUpdate(priorityLevel("batch", limited(func(l *flowcontrolv1.LimitedPriorityLevelConfiguration) {
		l.NominalConcurrencyShares = ptr.To[int32](-2)
	})), old), vt.Invalid("spec.limited.nominalConcurrencyShares", "must be a non-negative integer"))
	status := old.DeepCopy()
	status.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{Type: "ConcurrencyShared"}, {Type: "ConcurrencyShared"}}
	vt.Expect(t, ValidatePriorityLevelConfigurationStatusUpdate(status, old), vt.Want{Type: "FieldValueDuplicate", Field: "status.conditions[1].type"})
}

// TestBootstrapConfigurationIsValid checks every object kube-apiserver
// bootstraps, defaulted as the server defaults it, against these rules.
func TestBootstrapConfigurationIsValid(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := defaults.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]*flowcontrolv1.FlowSchema{bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas} {
		for _, fs := range list {
			fs = fs.DeepCopy()
			scheme.Default(fs)
			t.Run(fs.Name, func(t *testing.T) { vt.Expect(t, ValidateFlowSchema(fs)) })
		}
	}
	for _, list := range [][]*flowcontrolv1.PriorityLevelConfiguration{bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations} {
		for _, pl := range list {
			pl = pl.DeepCopy()
			scheme.Default(pl)
			t.Run(pl.Name, func(t *testing.T) { vt.Expect(t, ValidatePriorityLevelConfiguration(pl)) })
		}
	}
}
