package prober

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// expandStatic expands $(NAME) references in an exec probe's command against
// the container's env as written in the spec, as upstream does for probes:
// a variable set through valueFrom expands to its (empty) value, and the pod's
// downward API and other computed values are not available. $$ is an escaped
// $, and a reference to an unknown name, or one not closed, stays as written.
func expandStatic(cmd []string, env []corev1.EnvVar) []string {
	vars := make(map[string]string, len(env))
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	out := make([]string, len(cmd))
	for i, s := range cmd {
		out[i] = expandString(s, vars)
	}
	return out
}

func expandString(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
