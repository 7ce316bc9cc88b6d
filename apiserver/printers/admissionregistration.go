package printers

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var webhookColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks registered in this configuration"},
	ageColumn,
}

var validatingWebhookConfigurations = newPrinter(webhookColumns,
	rowsOf(func(c *admissionregistrationv1.ValidatingWebhookConfiguration, now time.Time) (metav1.TableRow, error) {
		return cells(c.Name, int64(len(c.Webhooks)), since(c.CreationTimestamp, now))
	}))

var mutatingWebhookConfigurations = newPrinter(webhookColumns,
	rowsOf(func(c *admissionregistrationv1.MutatingWebhookConfiguration, now time.Time) (metav1.TableRow, error) {
		return cells(c.Name, int64(len(c.Webhooks)), since(c.CreationTimestamp, now))
	}))

// policyColumns are the columns of admission policies; rules names the
// column counting their validations or mutations.
func policyColumns(rules, rulesDoc string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn,
		{Name: rules, Type: "integer", Description: rulesDoc},
		{Name: "ParamKind", Type: "string", Description: "ParamKind specifies the kind of resources used to parameterize this policy"},
		ageColumn,
	}
}

var policyBindingColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
	{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configuration param"},
	ageColumn,
}

var validatingAdmissionPolicies = newPrinter(
	policyColumns("Validations", "Validations indicates the number of validation rules defined in this configuration"),
	rowsOf(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, now time.Time) (metav1.TableRow, error) {
		return cells(p.Name, int64(len(p.Spec.Validations)), paramKind(p.Spec.ParamKind), since(p.CreationTimestamp, now))
	}))

var validatingAdmissionPolicyBindings = newPrinter(policyBindingColumns,
	rowsOf(func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, now time.Time) (metav1.TableRow, error) {
		return cells(b.Name, b.Spec.PolicyName, paramRef(b.Spec.ParamRef), since(b.CreationTimestamp, now))
	}))

var mutatingAdmissionPolicies = newPrinter(
	policyColumns("Mutations", "Mutation indicates the number of mutations rules defined in this configuration"),
	rowsOf(func(p *admissionregistrationv1.MutatingAdmissionPolicy, now time.Time) (metav1.TableRow, error) {
		return cells(p.Name, int64(len(p.Spec.Mutations)), paramKind(p.Spec.ParamKind), since(p.CreationTimestamp, now))
	}))

var mutatingAdmissionPolicyBindings = newPrinter(policyBindingColumns,
	rowsOf(func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding, now time.Time) (metav1.TableRow, error) {
		return cells(b.Name, b.Spec.PolicyName, paramRef(b.Spec.ParamRef), since(b.CreationTimestamp, now))
	}))

// paramKind is "apiVersion/Kind", or "<unset>".
func paramKind(k *admissionregistrationv1.ParamKind) string {
	if k == nil {
		return unset
	}
	return k.APIVersion + "/" + k.Kind
}

// paramRef is "namespace/name" ("*/name" when the namespace is not set: the
// param may be cluster-scoped or in the request's namespace), the selector,
// or "<unset>".
func paramRef(r *admissionregistrationv1.ParamRef) string {
	switch {
	case r == nil:
		return unset
	case r.Name != "" && r.Namespace != "":
		return r.Namespace + "/" + r.Name
	case r.Name != "":
		return "*/" + r.Name
	case r.Selector != nil:
		return r.Selector.String()
	default:
		return unset
	}
}
