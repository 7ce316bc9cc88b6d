package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Webhook paths, as kubebuilder names them; testdata/webhooks refers to them.
const (
	ValidatePath = "/validate-example-skiff-dev-v1-widget"
	MutatePath   = "/mutate-example-skiff-dev-v1-widget"
)

// RegisterWebhooks serves the Widget admission webhooks on srv.
func RegisterWebhooks(srv webhook.Server) {
	srv.Register(ValidatePath, &webhook.Admission{Handler: NameValidator{}})
	srv.Register(MutatePath, &webhook.Admission{Handler: LabelMutator{}})
}

// NameValidator denies Widgets whose name contains "bad".
type NameValidator struct{}

// Handle implements admission.Handler.
func (NameValidator) Handle(_ context.Context, req admission.Request) admission.Response {
	w, err := decodeWidget(req)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	// A generateName'd create may carry its name only on the request.
	name := w.GetName()
	if name == "" {
		name = req.Name
	}
	if strings.Contains(name, "bad") {
		return admission.Denied(fmt.Sprintf("widget name %q must not contain \"bad\"", name))
	}
	return admission.Allowed("")
}

// LabelMutator sets MutatedLabel to "true" on every Widget it admits.
type LabelMutator struct{}

// Handle implements admission.Handler.
func (LabelMutator) Handle(_ context.Context, req admission.Request) admission.Response {
	w, err := decodeWidget(req)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	labels := w.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[MutatedLabel] = "true"
	w.SetLabels(labels)
	mutated, err := json.Marshal(w.Object)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encode mutated widget: %w", err))
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, mutated)
}

// decodeWidget decodes the object under admission.
func decodeWidget(req admission.Request) (*unstructured.Unstructured, error) {
	w := &unstructured.Unstructured{}
	if err := w.UnmarshalJSON(req.Object.Raw); err != nil {
		return nil, fmt.Errorf("decode %s %s/%s: %w", req.Kind.Kind, req.Namespace, req.Name, err)
	}
	return w, nil
}
