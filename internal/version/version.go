package version

import (
	"fmt"
	"runtime"
	"strings"

	utilversion "k8s.io/apimachinery/pkg/util/version"
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	baseversion "k8s.io/component-base/version"
)

// KubernetesVersion is the Kubernetes release whose API Skiff serves.
const KubernetesVersion = "v1.37.2"

// These are set at link time by hack/build.sh (-ldflags -X); the defaults
// describe an unstamped development build.
var (
	skiffVersion = "0.0.0-dev"
	gitCommit    = ""
	gitTreeState = ""
	buildDate    = "1970-01-01T00:00:00Z"
)

// Skiff returns Skiff's own release, e.g. "0.1.0".
func Skiff() string { return skiffVersion }

// GitVersion returns the semver that Skiff reports as its Kubernetes version,
// e.g. "v1.37.2+skiff.0.1.0": the Kubernetes release it serves, with Skiff's
// own release as build metadata so that clients can tell it apart.
func GitVersion() string {
	return KubernetesVersion + "+skiff." + strings.ReplaceAll(skiffVersion, "+", ".")
}

// Semantic returns GitVersion parsed.
func Semantic() *utilversion.Version {
	return utilversion.MustParseSemantic(GitVersion())
}

// Get returns the version information served at /version and printed by
// `skiff version`.
func Get() apimachineryversion.Info {
	v := Semantic()
	commit := gitCommit
	if commit == "" {
		commit = baseversion.Get().GitCommit
		if strings.HasPrefix(commit, "$Format") {
			commit = ""
		}
	}
	return apimachineryversion.Info{
		Major:        fmt.Sprint(v.Major()),
		Minor:        fmt.Sprint(v.Minor()),
		GitVersion:   GitVersion(),
		GitCommit:    commit,
		GitTreeState: gitTreeState,
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}
