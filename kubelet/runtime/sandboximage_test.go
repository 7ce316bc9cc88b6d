package runtime

import (
	"context"
	"testing"

	"github.com/containerd/errdefs"
)

// TestSandboxImageBuiltOnceUnderConcurrency removes the default sandbox
// image and asks for it from many pods at once: every caller gets it.
func TestSandboxImageBuiltOnceUnderConcurrency(t *testing.T) {
	rt := requireRuntime(t)
	ctx := context.Background()
	if err := rt.RemoveImage(ctx, DefaultSandboxImage); err != nil && !errdefs.IsNotFound(err) {
		t.Fatalf("remove the sandbox image: %v", err)
	}
	const callers = 8
	errs := make(chan error, callers)
	for range callers {
		go func() {
			_, err := rt.ensureSandboxImage(ctx)
			errs <- err
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Errorf("ensureSandboxImage: %v", err)
		}
	}
}
