package admissionregistration

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/defaults"
)

// TestFixtures decodes each testdata/*.yaml object as the API server does
// (decoded, then defaulted), validates it for create, and expects no error
// from a valid-*.yaml file and, from an invalid-*.yaml file, exactly the
// errors its "# want: <type> <field>: <detail substring>" lines name, in
// order.
func TestFixtures(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := admissionregistrationv1.AddToScheme(scheme); err != nil {
		t.Fatalf("adding admissionregistration/v1 to the scheme: %v", err)
	}
	if err := defaults.AddToScheme(scheme); err != nil {
		t.Fatalf("adding defaults to the scheme: %v", err)
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()

	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatalf("listing fixtures: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("reading fixture: %v", err)
			}
			want, err := fixtureWants(data)
			if err != nil {
				t.Fatal(err)
			}
			switch base := filepath.Base(file); {
			case strings.HasPrefix(base, "valid-") && len(want) > 0:
				t.Fatal("a valid fixture names expected errors")
			case strings.HasPrefix(base, "invalid-") && len(want) == 0:
				t.Fatal("an invalid fixture names no expected error")
			case !strings.HasPrefix(base, "valid-") && !strings.HasPrefix(base, "invalid-"):
				t.Fatal("fixture names start with valid- or invalid-")
			}
			obj, _, err := decoder.Decode(data, nil, nil)
			if err != nil {
				t.Fatalf("decoding fixture: %v", err)
			}
			scheme.Default(obj)
			errs, err := validateForCreate(obj)
			if err != nil {
				t.Fatal(err)
			}
			expectErrors(t, errs, want)
		})
	}
}

// fixtureWants reads the "# want:" lines of a fixture.
func fixtureWants(data []byte) ([]wantError, error) {
	var want []wantError
	lines := bufio.NewScanner(bytes.NewReader(data))
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), "# want: ")
		if !ok {
			continue
		}
		typ, rest, ok1 := strings.Cut(rest, " ")
		path, detail, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("malformed want line %q: want \"# want: <type> <field>: <detail>\"", lines.Text())
		}
		want = append(want, wantError{typ: field.ErrorType(typ), field: path, detail: strings.TrimSpace(detail)})
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("reading want lines: %w", err)
	}
	return want, nil
}

func validateForCreate(obj runtime.Object) (field.ErrorList, error) {
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		return ValidateValidatingWebhookConfiguration(o), nil
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		return ValidateMutatingWebhookConfiguration(o), nil
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		return ValidateValidatingAdmissionPolicy(o), nil
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		return ValidateValidatingAdmissionPolicyBinding(o), nil
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		return ValidateMutatingAdmissionPolicy(o), nil
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		return ValidateMutatingAdmissionPolicyBinding(o), nil
	default:
		return nil, fmt.Errorf("no validation for %T", obj)
	}
}
