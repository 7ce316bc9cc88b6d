package admissionregistration

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// storedExpressions are the CEL expressions the old object of an update
// already had. Those compile in the stored-expressions environment, which
// admits every library the server can run, so that an update of an unrelated
// field never fails on an expression that was accepted before; expressions
// that are new compile in the stricter new-expressions environment. The zero
// value (every set nil) treats every expression as new.
type storedExpressions struct {
	matchConditions       sets.Set[string]
	validations           sets.Set[string]
	messageExpressions    sets.Set[string]
	auditAnnotationValues sets.Set[string]
	// mutations holds applyConfiguration and jsonPatch expressions.
	mutations sets.Set[string]
}

// envFor returns the CEL environment an expression compiles in.
func envFor(stored sets.Set[string], expression string) environment.Type {
	if stored.Has(expression) {
		return environment.StoredExpressions
	}
	return environment.NewExpressions
}

var (
	statelessCompilerOnce sync.Once
	statelessCompiler     plugincel.Compiler
)

// sharedCompiler returns the compiler for expressions that cannot reference
// variables (match conditions, and policies that declare none). It holds no
// per-policy state, so one is shared.
func sharedCompiler() plugincel.Compiler {
	statelessCompilerOnce.Do(func() {
		statelessCompiler = plugincel.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	})
	return statelessCompiler
}

// newCompositionCompiler returns a compiler that stores a policy's variables
// as they compile so that later expressions can use them; it is stateful, so
// each policy gets its own.
func newCompositionCompiler() (*plugincel.CompositedCompiler, error) {
	c, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return nil, fmt.Errorf("building the CEL variable composition environment: %w", err)
	}
	return c, nil
}

// compileExpression compiles one expression and reports a failure at fldPath.
func compileExpression(c plugincel.Compiler, expr plugincel.ExpressionAccessor, decls plugincel.OptionalVariableDeclarations, env environment.Type, fldPath *field.Path) field.ErrorList {
	result := c.CompileCELExpression(expr, decls, env)
	if result.Error == nil {
		return nil
	}
	return field.ErrorList{celFieldError(fldPath, expr.GetExpression(), result.Error)}
}

// celFieldError turns a CEL compilation error into the field error
// kube-apiserver reports for it.
func celFieldError(fldPath *field.Path, expression string, err *apiservercel.Error) *field.Error {
	switch err.Type {
	case apiservercel.ErrorTypeRequired:
		return field.Required(fldPath, err.Detail)
	case apiservercel.ErrorTypeInvalid:
		return field.Invalid(fldPath, expression, err.Detail)
	default:
		return field.InternalError(fldPath, err)
	}
}

// celIdentifier is CEL's IDENT production before reserved words are removed.
var celIdentifier = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)

// celReservedWords are CEL's literals and reserved words, which are not
// identifiers.
var celReservedWords = sets.New(
	"true", "false", "null", "in",
	"as", "break", "const", "continue", "else",
	"for", "function", "if", "import", "let",
	"loop", "package", "namespace", "return",
	"var", "void", "while",
)

func isCELIdentifier(name string) bool {
	return celIdentifier.MatchString(name) && !celReservedWords.Has(name)
}

// lineBreaks matches the line breaks of CEL's grammar.
var lineBreaks = regexp.MustCompile(`[\n\r]+`)

func isBlank(s string) bool {
	return strings.TrimSpace(s) == ""
}
