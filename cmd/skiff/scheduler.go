package main

import (
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/skiff-dev/skiff/internal/controlplane"
)

// schedulerFlags are `skiff scheduler`'s flags, shared with `skiff server`.
// The scheduler lands with controllers/scheduler; until then `skiff server`
// runs none.
type schedulerFlags struct{}

func (f *schedulerFlags) addFlags(fss *cliflag.NamedFlagSets, withClient bool) {}

func (f *schedulerFlags) component() (controlplane.Component, bool) {
	return controlplane.Component{}, false
}
