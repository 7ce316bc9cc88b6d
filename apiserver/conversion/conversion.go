package conversion

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

// AddToScheme registers every conversion of this package on s.
func AddToScheme(s *runtime.Scheme) error {
	for name, add := range map[string]func(*runtime.Scheme) error{
		"events":      addEventConversions,
		"autoscaling": addAutoscalingConversions,
	} {
		if err := add(s); err != nil {
			return fmt.Errorf("register %s conversions: %w", name, err)
		}
	}
	return nil
}
