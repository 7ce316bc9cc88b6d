package server

import (
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	basecompatibility "k8s.io/component-base/compatibility"

	"github.com/skiff-dev/skiff/internal/version"
)

// skiffEffectiveVersion is upstream's effective version (which drives
// feature gates and API enablement) with Skiff's version information at
// /version, so that it is a parseable semver saying it is Skiff even in
// binaries built without ldflags.
type skiffEffectiveVersion struct {
	basecompatibility.EffectiveVersion
}

// Info implements basecompatibility.EffectiveVersion.
func (v skiffEffectiveVersion) Info() *apimachineryversion.Info {
	info := v.EffectiveVersion.Info()
	if info == nil {
		return nil
	}
	skiff := version.Get()
	info.GitVersion = skiff.GitVersion
	info.GitCommit = skiff.GitCommit
	info.GitTreeState = skiff.GitTreeState
	info.BuildDate = skiff.BuildDate
	return info
}
