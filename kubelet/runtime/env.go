package runtime

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ObjectSource gives the runtime the ConfigMaps and Secrets that
// environment variables and volumes refer to, and the service account
// tokens of projected volumes. The API-facing kubelet implements it; a
// missing object is reported with an error for which apierrors.IsNotFound
// holds. CreateToken may return a cached token that is still fresh.
type ObjectSource interface {
	GetConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	CreateToken(ctx context.Context, namespace, serviceAccount string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error)
}

// EnvContext is what a container's environment is computed from besides
// the pod spec.
type EnvContext struct {
	// PodIPs are the pod's addresses (status.podIP is the first).
	PodIPs []string
	// HostIPs are the node's addresses (status.hostIP is the first).
	HostIPs []string
	// ServiceEnv holds the service link variables (FOO_SERVICE_HOST, …);
	// they can be referenced by $(VAR) and are added after the container's own.
	ServiceEnv map[string]string
	// NodeAllocatable stands in for missing limits in resourceFieldRef.
	NodeAllocatable corev1.ResourceList
	// Objects resolves configMap and secret references; nil makes them fail.
	Objects ObjectSource
}

// EnvVar is one resolved environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// MakeEnvironment computes a container's environment as the kubelet does:
// envFrom sources first, then env entries in order (values with $(VAR)
// references expanded against the variables defined so far and the service
// variables; valueFrom resolved from the pod, its resources, ConfigMaps and
// Secrets; optional references that are missing skipped), then the service
// variables the container did not define. The order is envFrom keys sorted
// per source, env in declaration order, then service variables sorted.
func MakeEnvironment(ctx context.Context, pod *corev1.Pod, c *corev1.Container, ec EnvContext) ([]EnvVar, error) {
	values := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := values[k]; !ok {
			order = append(order, k)
		}
		values[k] = v
	}
	configMaps := map[string]*corev1.ConfigMap{}
	secrets := map[string]*corev1.Secret{}

	getConfigMap := func(name string, optional bool) (*corev1.ConfigMap, bool, error) {
		if cm, ok := configMaps[name]; ok {
			return cm, true, nil
		}
		if ec.Objects == nil {
			return nil, false, fmt.Errorf("couldn't get configMap %v/%v, no kubeClient defined", pod.Namespace, name)
		}
		cm, err := ec.Objects.GetConfigMap(ctx, pod.Namespace, name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return nil, false, nil
			}
			return nil, false, err
		}
		configMaps[name] = cm
		return cm, true, nil
	}
	getSecret := func(name string, optional bool) (*corev1.Secret, bool, error) {
		if s, ok := secrets[name]; ok {
			return s, true, nil
		}
		if ec.Objects == nil {
			return nil, false, fmt.Errorf("couldn't get secret %v/%v, no kubeClient defined", pod.Namespace, name)
		}
		s, err := ec.Objects.GetSecret(ctx, pod.Namespace, name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return nil, false, nil
			}
			return nil, false, err
		}
		secrets[name] = s
		return s, true, nil
	}

	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, ok, err := getConfigMap(from.ConfigMapRef.Name, isTrue(from.ConfigMapRef.Optional))
			if err != nil {
				return nil, err
			}
			if ok {
				for _, k := range sortedKeys(cm.Data) {
					set(from.Prefix+k, cm.Data[k])
				}
			}
		case from.SecretRef != nil:
			s, ok, err := getSecret(from.SecretRef.Name, isTrue(from.SecretRef.Optional))
			if err != nil {
				return nil, err
			}
			if ok {
				for _, k := range sortedKeys(s.Data) {
					set(from.Prefix+k, string(s.Data[k]))
				}
			}
		}
	}

	for _, e := range c.Env {
		v := e.Value
		switch {
		case v != "":
			v = expandVars(v, values, ec.ServiceEnv)
		case e.ValueFrom == nil:
		case e.ValueFrom.FieldRef != nil:
			var err error
			if v, err = podFieldValue(pod, e.ValueFrom.FieldRef.FieldPath, ec); err != nil {
				return nil, err
			}
		case e.ValueFrom.ResourceFieldRef != nil:
			var err error
			if v, err = containerResourceValue(pod, c, e.ValueFrom.ResourceFieldRef, ec.NodeAllocatable); err != nil {
				return nil, err
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok, err := getConfigMap(ref.Name, isTrue(ref.Optional))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if v, ok = cm.Data[ref.Key]; !ok {
				if isTrue(ref.Optional) {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, pod.Namespace, ref.Name)
			}
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s, ok, err := getSecret(ref.Name, isTrue(ref.Optional))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			b, ok := s.Data[ref.Key]
			if !ok {
				if isTrue(ref.Optional) {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, pod.Namespace, ref.Name)
			}
			v = string(b)
		}
		set(e.Name, v)
	}

	out := make([]EnvVar, 0, len(order)+len(ec.ServiceEnv))
	for _, k := range order {
		out = append(out, EnvVar{Name: k, Value: values[k]})
	}
	for _, k := range sortedKeys(ec.ServiceEnv) {
		if _, ok := values[k]; !ok {
			out = append(out, EnvVar{Name: k, Value: ec.ServiceEnv[k]})
		}
	}
	return out, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// podFieldValue resolves a downward API field path of the pod.
func podFieldValue(pod *corev1.Pod, path string, ec EnvContext) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		if len(ec.PodIPs) > 0 {
			return ec.PodIPs[0], nil
		}
		return "", nil
	case "status.podIPs":
		return strings.Join(ec.PodIPs, ","), nil
	case "status.hostIP":
		if len(ec.HostIPs) > 0 {
			return ec.HostIPs[0], nil
		}
		return "", fmt.Errorf("no host IP known for field %s", path)
	case "status.hostIPs":
		return strings.Join(ec.HostIPs, ","), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", path)
}

// subscript parses "prefix['key']".
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// formatMap renders a map as the downward API does: sorted key="value"
// lines, values quoted.
func formatMap(m map[string]string) string {
	var lines []string
	for _, k := range sortedKeys(m) {
		lines = append(lines, k+"="+strconv.Quote(m[k]))
	}
	return strings.Join(lines, "\n")
}

// containerResourceValue resolves a resourceFieldRef: the container's
// request or limit (limits defaulting to the node's allocatable) divided by
// the divisor and rounded up.
func containerResourceValue(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector, allocatable corev1.ResourceList) (string, error) {
	target := c
	if ref.ContainerName != "" && ref.ContainerName != c.Name {
		target = findContainer(pod, ref.ContainerName)
		if target == nil {
			return "", fmt.Errorf("container %s not found in pod %s/%s", ref.ContainerName, pod.Namespace, pod.Name)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
	}
	rn := corev1.ResourceName(name)
	var q resource.Quantity
	var found bool
	if kind == "limits" {
		q, found = target.Resources.Limits[rn]
		if !found {
			q, found = allocatable[rn]
		}
	} else {
		q, found = target.Resources.Requests[rn]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	switch rn {
	case corev1.ResourceCPU:
		if !found {
			return "0", nil
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		if !found {
			return "0", nil
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	if strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) {
		if !found {
			return "0", nil
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
