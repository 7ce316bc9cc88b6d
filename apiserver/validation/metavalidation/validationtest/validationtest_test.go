package validationtest

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestExpect(t *testing.T) {
	got := field.ErrorList{
		field.Invalid(field.NewPath("data").Key("a b"), "a b", "a valid config key must consist of"),
		field.Invalid(field.NewPath("data").Key("a b"), "a b", "must not start with '..'"),
		field.Required(field.NewPath("metadata", "name"), "name or generateName is required"),
	}
	tests := []struct {
		name     string
		want     []Want
		failures []string
	}{
		{
			name: "all, in another order, a vague want listed first",
			want: []Want{Invalid("data[a b]", ""), Required("metadata.name", "generateName"), Invalid("data[a b]", "config key")},
		},
		{
			name:     "a missing and an unexpected error",
			want:     []Want{Invalid("data[a b]", "config key"), Invalid("data[a b]", "'..'"), Forbidden("metadata.name", "")},
			failures: []string{`missing: FieldValueForbidden metadata.name: ""`, `unexpected: FieldValueRequired metadata.name: "name or generateName is required"`},
		},
		{
			name:     "the type counts",
			want:     []Want{Invalid("data[a b]", "config key"), Invalid("data[a b]", "'..'"), Invalid("metadata.name", "")},
			failures: []string{"missing: FieldValueInvalid metadata.name", "unexpected: FieldValueRequired metadata.name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Expect(r, got, tt.want...)
			report := strings.Join(r.failures, "\n")
			if len(tt.failures) == 0 && report != "" {
				t.Fatalf("Expect failed: %s", report)
			}
			for _, f := range tt.failures {
				if !strings.Contains(report, f) {
					t.Errorf("Expect report %q lacks %q", report, f)
				}
			}
		})
	}
}

func TestParseWants(t *testing.T) {
	data := []byte("# a comment\n# want: FieldValueTooLong : may not be more than 3 bytes\n# want: FieldValueRequired data[tls.key]:\nkind: Secret\n")
	got, err := parseWants(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Want{TooLong("", "may not be more than 3 bytes"), Required("data[tls.key]", "")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseWants = %v, want %v", got, want)
	}
	if _, err := parseWants([]byte("# want: FieldValueInvalid no-colon\n")); err == nil {
		t.Error("parseWants accepted a line without a colon")
	}
}
