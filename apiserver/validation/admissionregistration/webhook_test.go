package admissionregistration

import (
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func validatingHook(name string) admissionregistrationv1.ValidatingWebhook {
	return admissionregistrationv1.ValidatingWebhook{
		Name: name,
		ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
			Namespace: "webhooks", Name: "validator", Path: ptr.To("/validate"), Port: ptr.To[int32](443),
		}},
		Rules:                   []admissionregistrationv1.RuleWithOperations{rule(admissionregistrationv1.Create, admissionregistrationv1.Update)},
		FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
		MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
		NamespaceSelector:       &metav1.LabelSelector{},
		ObjectSelector:          &metav1.LabelSelector{},
		SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
		TimeoutSeconds:          ptr.To[int32](10),
		AdmissionReviewVersions: []string{"v1"},
		MatchConditions: []admissionregistrationv1.MatchCondition{
			{Name: "not-leases", Expression: "request.resource.resource != 'leases'"},
		},
	}
}

func validVWC(mutate func(*admissionregistrationv1.ValidatingWebhookConfiguration)) *admissionregistrationv1.ValidatingWebhookConfiguration {
	c := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "policy.example.com"},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{validatingHook("a.example.com")},
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

// hook0 returns the first webhook of c, for cases to change.
func hook0(c *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhook {
	return &c.Webhooks[0]
}

func TestValidateValidatingWebhookConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*admissionregistrationv1.ValidatingWebhookConfiguration)
		want   []wantError
	}{
		{name: "valid"},
		{name: "valid: url, v1beta1, NoneOnDryRun, authorizer in a match condition", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			h := hook0(c)
			h.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://hooks.example.com:8443/validate")}
			h.AdmissionReviewVersions = []string{"v1beta1", "v2"}
			h.SideEffects = ptr.To(admissionregistrationv1.SideEffectClassNoneOnDryRun)
			h.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "example.com/authz", Expression: "authorizer.group('').resource('pods').check('get').allowed()"}}
			c.Webhooks = append(c.Webhooks, validatingHook("b.example.com"))
		}},
		{name: "valid: unset optional fields", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			h := hook0(c)
			h.FailurePolicy, h.MatchPolicy, h.NamespaceSelector, h.ObjectSelector, h.TimeoutSeconds, h.Rules, h.MatchConditions = nil, nil, nil, nil, nil, nil, nil
			h.ClientConfig.Service.Path, h.ClientConfig.Service.Port = nil, nil
		}},
		{name: "valid: resource wildcards", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).Rules[0].Resources = []string{"*", "pods/*", "*/scale"}
		}},

		// metadata
		{name: "no name", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Name = "" },
			want: []wantError{required("metadata.name", "name or generateName is required")}},
		{name: "name not a DNS subdomain", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Name = "Policy_1" },
			want: []wantError{invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
		{name: "namespaced", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Namespace = "default" },
			want: []wantError{forbidden("metadata.namespace", "not allowed on this type")}},
		{name: "static manifest name", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Name = "policy.static.k8s.io" },
			want: []wantError{invalid("metadata.name", `names ending with ".static.k8s.io" are reserved for static manifest-based configurations`)}},

		// names
		{name: "webhook name not fully qualified", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { hook0(c).Name = "hook" },
			want: []wantError{invalid("webhooks[0].name", "should be a domain with at least three segments separated by dots")}},
		{name: "webhook name empty", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { hook0(c).Name = "" },
			want: []wantError{required("webhooks[0].name", "")}},
		{name: "duplicate webhook names", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks = append(c.Webhooks, validatingHook("b.example.com"), validatingHook("a.example.com"))
		}, want: []wantError{duplicate("webhooks[2].name")}},

		// admissionReviewVersions
		{name: "no admissionReviewVersions", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).AdmissionReviewVersions = nil
		},
			want: []wantError{required("webhooks[0].admissionReviewVersions", "must specify one of v1, v1beta1")}},
		{name: "no accepted admissionReviewVersion", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).AdmissionReviewVersions = []string{"v2", "v3alpha1"}
		}, want: []wantError{invalid("webhooks[0].admissionReviewVersions", "must include at least one of v1, v1beta1")}},
		{name: "duplicate and malformed admissionReviewVersions", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).AdmissionReviewVersions = []string{"v1", "V2", "v1"}
		}, want: []wantError{
			invalid("webhooks[0].admissionReviewVersions[1]", "a DNS-1035 label must consist of lower case alphanumeric characters"),
			invalid("webhooks[0].admissionReviewVersions[2]", "duplicate version"),
		}},

		// policies, side effects, timeout
		{name: "unknown failurePolicy and matchPolicy", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			h := hook0(c)
			h.FailurePolicy = ptr.To(admissionregistrationv1.FailurePolicyType("Maybe"))
			h.MatchPolicy = ptr.To(admissionregistrationv1.MatchPolicyType("Loose"))
		}, want: []wantError{
			notSupported("webhooks[0].failurePolicy", `supported values: "Fail", "Ignore"`),
			notSupported("webhooks[0].matchPolicy", `supported values: "Equivalent", "Exact"`),
		}},
		{name: "no sideEffects", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { hook0(c).SideEffects = nil },
			want: []wantError{required("webhooks[0].sideEffects", "must specify one of None, NoneOnDryRun")}},
		{name: "sideEffects Some", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).SideEffects = ptr.To(admissionregistrationv1.SideEffectClassSome)
		}, want: []wantError{notSupported("webhooks[0].sideEffects", `supported values: "None", "NoneOnDryRun"`)}},
		{name: "timeout 0", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).TimeoutSeconds = ptr.To[int32](0)
		},
			want: []wantError{invalid("webhooks[0].timeoutSeconds", "the timeout value must be between 1 and 30 seconds")}},
		{name: "timeout 31", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).TimeoutSeconds = ptr.To[int32](31)
		},
			want: []wantError{invalid("webhooks[0].timeoutSeconds", "the timeout value must be between 1 and 30 seconds")}},
		{name: "timeout 1 and 30 are valid", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).TimeoutSeconds = ptr.To[int32](1)
			c.Webhooks = append(c.Webhooks, validatingHook("b.example.com"))
			c.Webhooks[1].TimeoutSeconds = ptr.To[int32](30)
		}},

		// selectors
		{name: "invalid selectors", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			h := hook0(c)
			h.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a b"}}
			h.ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near"}}}
		}, want: []wantError{
			invalid("webhooks[0].namespaceSelector.matchLabels", "a valid label must be an empty string or consist of alphanumeric characters"),
			invalid("webhooks[0].objectSelector.matchExpressions[0].operator", "not a valid selector operator"),
		}},

		// clientConfig
		{name: "neither url nor service", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig = admissionregistrationv1.WebhookClientConfig{}
		}, want: []wantError{required("webhooks[0].clientConfig", "exactly one of url or service is required")}},
		{name: "both url and service", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig.URL = ptr.To("https://hooks.example.com")
		}, want: []wantError{required("webhooks[0].clientConfig", "exactly one of url or service is required")}},
		{name: "http url", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("http://hooks.example.com/validate")}
		}, want: []wantError{invalid("webhooks[0].clientConfig.url", "'https' is the only allowed URL scheme; desired format: https://host[/path]")}},
		{name: "url without host", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https:///validate")}
		}, want: []wantError{invalid("webhooks[0].clientConfig.url", "host must be specified")}},
		{name: "url with user, fragment and query", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://me:pw@hooks.example.com/validate?x=1#top")}
		}, want: []wantError{
			invalid("webhooks[0].clientConfig.url", "user information is not permitted in the URL"),
			invalid("webhooks[0].clientConfig.url", "fragments are not permitted in the URL"),
			invalid("webhooks[0].clientConfig.url", "query parameters are not permitted in the URL"),
		}},
		{name: "unparsable url", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://hooks.example.com:port/")}
		}, want: []wantError{required("webhooks[0].clientConfig.url", "url must be a valid URL")}},
		{name: "service path without leading slash", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig.Service.Path = ptr.To("validate")
		}, want: []wantError{invalid("webhooks[0].clientConfig.service.path", "must start with a '/'")}},
		{name: "service path with an empty segment", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig.Service.Path = ptr.To("/a//b/")
		}, want: []wantError{invalid("webhooks[0].clientConfig.service.path", "segment[1] may not be empty")}},
		{name: "service path segment not a DNS subdomain", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig.Service.Path = ptr.To("/Validate")
		}, want: []wantError{invalid("webhooks[0].clientConfig.service.path", "segment[0]: a lowercase RFC 1123 subdomain")}},
		{name: "service port out of range", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig.Service.Port = ptr.To[int32](70000)
		}, want: []wantError{invalid("webhooks[0].clientConfig.service.port", "port is not valid: must be between 1 and 65535, inclusive")}},
		// kube-apiserver swaps the two: see validateClientConfig.
		{name: "service without namespace is reported at name", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig.Service.Namespace = ""
		}, want: []wantError{required("webhooks[0].clientConfig.service.name", "")}},
		{name: "service without name is reported at namespace", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).ClientConfig.Service.Name = ""
		}, want: []wantError{required("webhooks[0].clientConfig.service.namespace", "")}},

		// rules
		{name: "rule without operations, groups, versions, resources", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).Rules = []admissionregistrationv1.RuleWithOperations{{}}
		}, want: []wantError{
			required("webhooks[0].rules[0].operations", ""),
			required("webhooks[0].rules[0].apiGroups", ""),
			required("webhooks[0].rules[0].apiVersions", ""),
			required("webhooks[0].rules[0].resources", ""),
		}},
		{name: "rule wildcards mixed with values", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			r := &hook0(c).Rules[0]
			r.Operations = []admissionregistrationv1.OperationType{"*", "CREATE"}
			r.APIGroups = []string{"*", "apps"}
			r.APIVersions = []string{"*", "v1"}
		}, want: []wantError{
			invalid("webhooks[0].rules[0].operations", "if '*' is present, must not specify other operations"),
			invalid("webhooks[0].rules[0].apiGroups", "if '*' is present, must not specify other API groups"),
			invalid("webhooks[0].rules[0].apiVersions", "if '*' is present, must not specify other API versions"),
		}},
		{name: "unknown operation, empty version, unknown scope", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			r := &hook0(c).Rules[0]
			r.Operations = []admissionregistrationv1.OperationType{"CREATE", "PATCH"}
			r.APIVersions = []string{"v1", ""}
			r.Scope = ptr.To(admissionregistrationv1.ScopeType("Global"))
		}, want: []wantError{
			notSupported("webhooks[0].rules[0].operations[1]", `supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"`),
			required("webhooks[0].rules[0].apiVersions[1]", ""),
			notSupported("webhooks[0].rules[0].scope", `supported values: "*", "Cluster", "Namespaced"`),
		}},
		{name: "resources: empty entry and */* with others", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).Rules[0].Resources = []string{"*/*", "", "pods"}
		}, want: []wantError{
			required("webhooks[0].rules[0].resources[1]", ""),
			invalid("webhooks[0].rules[0].resources", "if '*/*' is present, must not specify other resources"),
		}},
		{name: "resources: subresource wildcards overlap", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).Rules[0].Resources = []string{"pods/*", "pods/status", "*/scale", "deployments/scale"}
		}, want: []wantError{
			invalid("webhooks[0].rules[0].resources[1]", "if 'pods/*' is present, must not specify pods/status"),
			invalid("webhooks[0].rules[0].resources[3]", "if '*/scale' is present, must not specify deployments/scale"),
		}},
		{name: "resources: * with a plain resource", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).Rules[0].Resources = []string{"*", "pods"}
		}, want: []wantError{invalid("webhooks[0].rules[0].resources", "if '*' is present, must not specify other resources without subresources")}},

		// matchConditions
		{name: "match condition without name or expression", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).MatchConditions = []admissionregistrationv1.MatchCondition{{Expression: "  "}}
		}, want: []wantError{
			required("webhooks[0].matchConditions[0].expression", ""),
			required("webhooks[0].matchConditions[0].name", ""),
		}},
		{name: "match condition with a bad and a duplicate name", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).MatchConditions = []admissionregistrationv1.MatchCondition{
				{Name: "-bad-", Expression: "true"}, {Name: "a", Expression: "true"}, {Name: "a", Expression: "true"},
			}
		}, want: []wantError{
			invalid("webhooks[0].matchConditions[0].name", "name part must consist of alphanumeric characters"),
			duplicate("webhooks[0].matchConditions[2].name"),
		}},
		{name: "match condition does not compile", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).MatchConditions[0].Expression = "object.metadata.name =="
		}, want: []wantError{invalid("webhooks[0].matchConditions[0].expression", "compilation failed: ERROR: <input>:1:24: Syntax error")}},
		{name: "match condition cannot use params", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).MatchConditions[0].Expression = "params.enabled"
		}, want: []wantError{invalid("webhooks[0].matchConditions[0].expression", "undeclared reference to 'params'")}},
		{name: "match condition not a bool", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).MatchConditions[0].Expression = "request.name"
		}, want: []wantError{invalid("webhooks[0].matchConditions[0].expression", "must evaluate to bool but got string")}},
		{name: "match condition with a library newer than the compatibility version", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			hook0(c).MatchConditions[0].Expression = "[1, 2].includes(1)"
		}, want: []wantError{invalid("webhooks[0].matchConditions[0].expression", "undeclared reference to 'includes'")}},
		{name: "too many match conditions", mutate: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			h := hook0(c)
			h.MatchConditions = nil
			for i := range 65 {
				h.MatchConditions = append(h.MatchConditions, admissionregistrationv1.MatchCondition{Name: fmt.Sprintf("c%d", i), Expression: "true"})
			}
		}, want: []wantError{tooMany("webhooks[0].matchConditions", "must have at most 64 items")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateValidatingWebhookConfiguration(validVWC(tc.mutate)), tc.want)
		})
	}
}

func validMWC(mutate func(*admissionregistrationv1.MutatingWebhookConfiguration)) *admissionregistrationv1.MutatingWebhookConfiguration {
	v := validatingHook("a.example.com")
	c := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults.example.com"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: v.Name, ClientConfig: v.ClientConfig, Rules: v.Rules, FailurePolicy: v.FailurePolicy, MatchPolicy: v.MatchPolicy,
			NamespaceSelector: v.NamespaceSelector, ObjectSelector: v.ObjectSelector, SideEffects: v.SideEffects,
			TimeoutSeconds: v.TimeoutSeconds, AdmissionReviewVersions: v.AdmissionReviewVersions, MatchConditions: v.MatchConditions,
			ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
		}},
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

func TestValidateMutatingWebhookConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*admissionregistrationv1.MutatingWebhookConfiguration)
		want   []wantError
	}{
		{name: "valid"},
		{name: "valid without reinvocationPolicy", mutate: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ReinvocationPolicy = nil
		}},
		{name: "unknown reinvocationPolicy", mutate: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ReinvocationPolicy = ptr.To(admissionregistrationv1.ReinvocationPolicyType("Always"))
		}, want: []wantError{notSupported("webhooks[0].reinvocationPolicy", `supported values: "IfNeeded", "Never"`)}},
		{name: "static manifest name", mutate: func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Name = "defaults.static.k8s.io" },
			want: []wantError{invalid("metadata.name", "reserved for static manifest-based configurations")}},
		{name: "duplicate names, unknown side effects, bad timeout, no versions, no client", mutate: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks = append(c.Webhooks, c.Webhooks[0])
			h := &c.Webhooks[1]
			h.SideEffects = ptr.To(admissionregistrationv1.SideEffectClassUnknown)
			h.TimeoutSeconds = ptr.To[int32](-1)
			h.AdmissionReviewVersions = nil
			h.ClientConfig = admissionregistrationv1.WebhookClientConfig{}
		}, want: []wantError{
			notSupported("webhooks[1].sideEffects", `supported values: "None", "NoneOnDryRun"`),
			invalid("webhooks[1].timeoutSeconds", "between 1 and 30 seconds"),
			required("webhooks[1].clientConfig", "exactly one of url or service is required"),
			required("webhooks[1].admissionReviewVersions", "must specify one of v1, v1beta1"),
			duplicate("webhooks[1].name"),
		}},
		{name: "bad rule and match condition", mutate: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].Rules[0].Operations = []admissionregistrationv1.OperationType{"create"}
			c.Webhooks[0].MatchConditions[0].Expression = "variables.x"
		}, want: []wantError{
			notSupported("webhooks[0].rules[0].operations[0]", `"CREATE"`),
			invalid("webhooks[0].matchConditions[0].expression", "undeclared reference to 'variables'"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateMutatingWebhookConfiguration(validMWC(tc.mutate)), tc.want)
		})
	}
}

func badValueSelector(value string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{value}}}}
}

func TestValidateValidatingWebhookConfigurationUpdate(t *testing.T) {
	tests := []struct {
		name     string
		old, obj func(*admissionregistrationv1.ValidatingWebhookConfiguration)
		want     []wantError
	}{
		{name: "valid to valid"},
		{name: "side effects: Some stays allowed when the old object had it",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).SideEffects = ptr.To(admissionregistrationv1.SideEffectClassSome)
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).SideEffects = ptr.To(admissionregistrationv1.SideEffectClassUnknown)
			}},
		{name: "side effects: Some is rejected when the old object had none",
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).SideEffects = ptr.To(admissionregistrationv1.SideEffectClassSome)
			},
			want: []wantError{notSupported("webhooks[0].sideEffects", `supported values: "None", "NoneOnDryRun"`)}},
		{name: "side effects: unknown class is rejected even when relaxed",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { hook0(c).SideEffects = nil },
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).SideEffects = ptr.To(admissionregistrationv1.SideEffectClass("Many"))
			},
			want: []wantError{notSupported("webhooks[0].sideEffects", `supported values: "None", "NoneOnDryRun", "Some", "Unknown"`)}},
		{name: "admissionReviewVersions: unrecognized kept when the old object had them",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).AdmissionReviewVersions = []string{"v2"}
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).AdmissionReviewVersions = []string{"v3"}
			}},
		{name: "admissionReviewVersions: unrecognized rejected otherwise",
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).AdmissionReviewVersions = []string{"v3"}
			},
			want: []wantError{invalid("webhooks[0].admissionReviewVersions", "must include at least one of v1, v1beta1")}},
		{name: "names: duplicates kept when the old object had them",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				c.Webhooks = append(c.Webhooks, validatingHook("a.example.com"))
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				c.Webhooks = append(c.Webhooks, validatingHook("a.example.com"), validatingHook("a.example.com"))
			}},
		{name: "names: duplicates rejected otherwise",
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				c.Webhooks = append(c.Webhooks, validatingHook("a.example.com"))
			},
			want: []wantError{duplicate("webhooks[1].name")}},
		{name: "selectors: invalid values in expressions kept when the old object had them",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).ObjectSelector = badValueSelector("a b")
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).NamespaceSelector = badValueSelector("c d")
			}},
		{name: "selectors: invalid values in expressions rejected otherwise",
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).NamespaceSelector = badValueSelector("c d")
			},
			want: []wantError{invalid("webhooks[0].namespaceSelector.matchExpressions[0].values[0]", "a valid label must be an empty string")}},
		{name: "selectors: invalid matchLabels are never relaxed",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).ObjectSelector = badValueSelector("a b")
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "c d"}}
			},
			want: []wantError{invalid("webhooks[0].namespaceSelector.matchLabels", "a valid label must be an empty string")}},
		{name: "match conditions: unchanged ones are not compiled again",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).MatchConditions[0].Expression = "params.x"
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).MatchConditions[0].Expression = "params.x"
				hook0(c).TimeoutSeconds = ptr.To[int32](5)
			}},
		{name: "match conditions: changed ones are",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).MatchConditions[0].Expression = "params.x"
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).MatchConditions[0].Expression = "params.x"
				hook0(c).MatchConditions = append(hook0(c).MatchConditions, admissionregistrationv1.MatchCondition{Name: "b", Expression: "true"})
			},
			want: []wantError{invalid("webhooks[0].matchConditions[0].expression", "undeclared reference to 'params'")}},
		{name: "match conditions: an expression of the old object compiles with every library",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).MatchConditions[0].Expression = "[1, 2].includes(1)"
			},
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).MatchConditions[0].Expression = "[1, 2].includes(1)"
				c.Webhooks = append(c.Webhooks, validatingHook("b.example.com"))
				c.Webhooks[1].MatchConditions[0].Expression = "  [1, 2].includes(1)  "
			}},
		{name: "match conditions: a new expression does not",
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
				hook0(c).MatchConditions[0].Expression = "[1, 2].includes(1)"
			},
			want: []wantError{invalid("webhooks[0].matchConditions[0].expression", "undeclared reference to 'includes'")}},
		{name: "static manifest names are checked on create only",
			old: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Name = "policy.static.k8s.io" },
			obj: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Name = "policy.static.k8s.io" }},
		{name: "metadata is validated",
			obj:  func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Name = "Policy" },
			want: []wantError{invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateValidatingWebhookConfigurationUpdate(validVWC(tc.obj), validVWC(tc.old)), tc.want)
		})
	}
}

func TestValidateMutatingWebhookConfigurationUpdate(t *testing.T) {
	tests := []struct {
		name     string
		old, obj func(*admissionregistrationv1.MutatingWebhookConfiguration)
		want     []wantError
	}{
		{name: "side effects relaxed by the old object",
			old: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].SideEffects = ptr.To(admissionregistrationv1.SideEffectClassUnknown)
			},
			obj: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].SideEffects = ptr.To(admissionregistrationv1.SideEffectClassSome)
			}},
		{name: "reinvocationPolicy still checked",
			obj: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].ReinvocationPolicy = ptr.To(admissionregistrationv1.ReinvocationPolicyType("Twice"))
			},
			want: []wantError{notSupported("webhooks[0].reinvocationPolicy", `"IfNeeded", "Never"`)}},
		{name: "new match condition compiled",
			obj: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].MatchConditions[0].Expression = "1"
			},
			want: []wantError{invalid("webhooks[0].matchConditions[0].expression", "must evaluate to bool but got int")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectErrors(t, ValidateMutatingWebhookConfigurationUpdate(validMWC(tc.obj), validMWC(tc.old)), tc.want)
		})
	}
}
