package kubeletproxy

import (
	"context"
	"fmt"
	"net"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// getPod fetches the named pod of the request's namespace.
func getPod(ctx context.Context, pods rest.Getter, name string) (*corev1.Pod, error) {
	obj, err := pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod == nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("pod getter returned %T, not a Pod", obj))
	}
	return pod, nil
}

// containerNames lists the pod's init, regular and ephemeral containers, in
// that order.
func containerNames(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	return names
}

// chooseContainer returns the container a request is about: the one it
// names, which the pod must have, or the pod's only regular container.
func chooseContainer(pod *corev1.Pod, container string) (string, error) {
	names := containerNames(pod)
	if container != "" {
		for _, n := range names {
			if n == container {
				return container, nil
			}
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
	}
	switch len(pod.Spec.Containers) {
	case 1:
		return pod.Spec.Containers[0].Name, nil
	case 0:
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", pod.Name, names))
	}
}

// url is the URL of path on the kubelet c, with the query q.
func (c *connection) url(path string, q url.Values) *url.URL {
	return &url.URL{
		Scheme:   c.scheme,
		Host:     net.JoinHostPort(c.host, c.port),
		Path:     path,
		RawQuery: q.Encode(),
	}
}

// noHost is upstream's error for streaming to a pod no node runs yet.
func noHost(name string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name))
}
