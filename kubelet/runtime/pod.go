package runtime

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// RunPodOptions tune RunPod.
type RunPodOptions struct {
	// Credentials for image pulls (may be nil).
	Credentials Credentials
	// ServiceEnv holds the namespace's service link variables.
	ServiceEnv map[string]string
}

// RunPod starts a pod in one pass, the way the kubelet orders a pod's first
// start: the sandbox; then the init containers one at a time, each run to
// successful completion before the next, except sidecars (restartPolicy
// Always), which are started and left running; then every app container.
// It does not restart anything: a failing init container ends the pass
// with an error. Pod workers that converge level-based use the primitives
// (RunPodSandbox, EnsureImage, CreateContainer, StartContainer, …) directly.
func (r *Runtime) RunPod(ctx context.Context, pod *corev1.Pod, opts RunPodOptions) (*Sandbox, error) {
	sb, _, err := r.RunPodSandbox(ctx, pod)
	if err != nil {
		return nil, err
	}
	start := func(c *corev1.Container, t ContainerType) (string, error) {
		if _, err := r.EnsureImage(ctx, c.Image, c.ImagePullPolicy, opts.Credentials); err != nil {
			return "", err
		}
		id, err := r.CreateContainer(ctx, sb, pod, c, CreateOptions{Type: t, ServiceEnv: opts.ServiceEnv})
		if err != nil {
			return "", err
		}
		if err := r.StartContainer(ctx, id); err != nil {
			return "", err
		}
		return id, nil
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if isSidecar(c) {
			if _, err := start(c, ContainerTypeSidecar); err != nil {
				return sb, err
			}
			continue
		}
		id, err := start(c, ContainerTypeInit)
		if err != nil {
			return sb, err
		}
		st, err := r.WaitContainer(ctx, id)
		if err != nil {
			return sb, err
		}
		if st.ExitCode != 0 {
			return sb, fmt.Errorf("init container %s failed: exit code %d (%s)", c.Name, st.ExitCode, st.Reason)
		}
	}
	for i := range pod.Spec.Containers {
		if _, err := start(&pod.Spec.Containers[i], ContainerTypeRegular); err != nil {
			return sb, err
		}
	}
	return sb, nil
}
