package all

import (
	"github.com/skiff-dev/skiff/controllers"
)

// Descriptors returns every controller Skiff has.
func Descriptors() []controllers.Descriptor {
	return []controllers.Descriptor{}
}
