package runtime

import "context"

// RemovePodSandbox kills and removes one sandbox container and tears down
// its network, leaving the pod's other containers and directories alone.
// Pod workers use it to replace a sandbox that died, so that the new one is
// the pod's only sandbox while the old containers keep their status.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	return r.removeSandbox(ctx, id)
}
