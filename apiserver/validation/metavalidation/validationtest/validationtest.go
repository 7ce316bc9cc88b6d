package validationtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/skiff-dev/skiff/apiserver/defaults"
)

// Want is one expected validation error: its type, its field path and a
// substring of its detail ("" matches any detail).
type Want struct {
	Type   field.ErrorType
	Field  string
	Detail string
}

func (w Want) String() string { return fmt.Sprintf("%s %s: %q", string(w.Type), w.Field, w.Detail) }

// Required builds a Want of type FieldValueRequired.
func Required(path, detail string) Want { return Want{field.ErrorTypeRequired, path, detail} }

// Invalid builds a Want of type FieldValueInvalid.
func Invalid(path, detail string) Want { return Want{field.ErrorTypeInvalid, path, detail} }

// NotSupported builds a Want of type FieldValueNotSupported.
func NotSupported(path, detail string) Want { return Want{field.ErrorTypeNotSupported, path, detail} }

// Forbidden builds a Want of type FieldValueForbidden.
func Forbidden(path, detail string) Want { return Want{field.ErrorTypeForbidden, path, detail} }

// TooLong builds a Want of type FieldValueTooLong.
func TooLong(path, detail string) Want { return Want{field.ErrorTypeTooLong, path, detail} }

// Expect fails t unless got holds exactly the errors of want, in any order
// (validators range over maps, so their order is not stable).
func Expect(t testing.TB, got field.ErrorList, want ...Want) {
	t.Helper()
	used := make([]bool, len(got))
	var missing []Want
	// Match the most specific details first, so that a vague want does not
	// take the error a precise one needs.
	byDetail := slices.Clone(want)
	slices.SortStableFunc(byDetail, func(a, b Want) int { return len(b.Detail) - len(a.Detail) })
	for _, w := range byDetail {
		found := false
		for i, e := range got {
			if !used[i] && e.Type == w.Type && e.Field == w.Field && strings.Contains(e.Detail, w.Detail) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	var extra field.ErrorList
	for i, e := range got {
		if !used[i] {
			extra = append(extra, e)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return
	}
	var b strings.Builder
	for _, w := range missing {
		fmt.Fprintf(&b, "\n  missing: %s", w)
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "\n  unexpected: %s %s: %q", string(e.Type), e.Field, e.Detail)
	}
	t.Errorf("validation errors differ:%s", b.String())
}

// Validator decodes a fixture into the Go type of its kind, defaults it as
// the API server's decoder does, and validates it for create.
type Validator func(data []byte) (field.ErrorList, error)

// Kind returns the Validator that decodes a fixture into a new T with
// sigs.k8s.io/yaml (strictly: unknown fields fail the test) and checks it
// with validate.
func Kind[T any, PT interface {
	*T
	runtime.Object
}](validate func(PT) field.ErrorList) Validator {
	return func(data []byte) (field.ErrorList, error) {
		obj := PT(new(T))
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			return nil, fmt.Errorf("decode %T: %w", obj, err)
		}
		scheme := runtime.NewScheme()
		if err := defaults.AddToScheme(scheme); err != nil {
			return nil, fmt.Errorf("register defaults: %w", err)
		}
		scheme.Default(obj)
		return validate(obj), nil
	}
}

// RunFixtures runs every testdata/*.yaml of the calling package as a
// subtest: the Validator of the fixture's kind checks it, a valid-*.yaml
// must have no error and an invalid-*.yaml exactly the errors its
// "# want: <type> <field>: <detail substring>" lines name, for example
// "# want: FieldValueInvalid data[bad key]: a valid config key".
func RunFixtures(t *testing.T, byKind map[string]Validator) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatalf("list fixtures: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("read fixture: %v", err)
			}
			want, err := parseWants(data)
			if err != nil {
				t.Fatal(err)
			}
			switch base := filepath.Base(file); {
			case strings.HasPrefix(base, "valid-"):
				if len(want) > 0 {
					t.Fatal("a valid-*.yaml fixture may not name expected errors")
				}
			case strings.HasPrefix(base, "invalid-"):
				if len(want) == 0 {
					t.Fatal("an invalid-*.yaml fixture must name its expected errors")
				}
			default:
				t.Fatal("fixture names start with valid- or invalid-")
			}
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(data, &meta); err != nil {
				t.Fatalf("read kind: %v", err)
			}
			validate, ok := byKind[meta.Kind]
			if !ok {
				t.Fatalf("no validator for kind %q", meta.Kind)
			}
			got, err := validate(data)
			if err != nil {
				t.Fatal(err)
			}
			Expect(t, got, want...)
		})
	}
}

// parseWants reads the "# want:" lines of a fixture.
func parseWants(data []byte) ([]Want, error) {
	var want []Want
	lines := bufio.NewScanner(bytes.NewReader(data))
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), "# want: ")
		if !ok {
			continue
		}
		typ, rest, ok1 := strings.Cut(rest, " ")
		path, detail, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("malformed line %q, want \"# want: <type> <field>: <detail>\"", lines.Text())
		}
		want = append(want, Want{Type: field.ErrorType(typ), Field: path, Detail: strings.TrimSpace(detail)})
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("read want lines: %w", err)
	}
	return want, nil
}
