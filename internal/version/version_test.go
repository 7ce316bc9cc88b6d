package version

import (
	"testing"

	utilversion "k8s.io/apimachinery/pkg/util/version"
)

func TestGitVersionIsSemver(t *testing.T) {
	tests := []struct {
		name  string
		skiff string
		want  string
	}{
		{name: "release", skiff: "0.1.0", want: "v1.37.2+skiff.0.1.0"},
		{name: "dev", skiff: "0.0.0-dev", want: "v1.37.2+skiff.0.0.0-dev"},
		{name: "plus in skiff version", skiff: "0.1.0+abc", want: "v1.37.2+skiff.0.1.0.abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := skiffVersion
			skiffVersion = tt.skiff
			defer func() { skiffVersion = old }()
			if got := GitVersion(); got != tt.want {
				t.Fatalf("GitVersion() = %q, want %q", got, tt.want)
			}
			v, err := utilversion.ParseSemantic(GitVersion())
			if err != nil {
				t.Fatalf("GitVersion() %q does not parse: %v", GitVersion(), err)
			}
			if v.Major() != 1 || v.Minor() != 37 || v.Patch() != 2 {
				t.Fatalf("parsed %v, want 1.37.2", v)
			}
			info := Get()
			if info.Major != "1" || info.Minor != "37" {
				t.Fatalf("Get() major/minor = %s/%s, want 1/37", info.Major, info.Minor)
			}
		})
	}
}
