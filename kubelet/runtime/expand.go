package runtime

import "strings"

// expandVars replaces $(NAME) references in s with values from the maps,
// searched in order, following the Kubernetes rules: $$ is an escaped $, an
// unknown or unterminated reference stays as written, and a $ before any
// other character is left alone.
func expandVars(s string, maps ...map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		next := s[i+1]
		switch next {
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
			b.WriteString(lookupVar(name, maps))
			i += 2 + end
		default:
			b.WriteByte('$')
			b.WriteByte(next)
			i++
		}
	}
	return b.String()
}

func lookupVar(name string, maps []map[string]string) string {
	for _, m := range maps {
		if v, ok := m[name]; ok {
			return v
		}
	}
	return "$(" + name + ")"
}

// expandCommand expands $(VAR) references in a container's command and
// args against its final environment.
func expandCommand(in []string, env map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expandVars(s, env)
	}
	return out
}
