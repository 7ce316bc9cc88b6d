package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

const (
	// maxProbeRetries is how often a probe that could not be run (an error,
	// not a failure) is tried before its run is given up, as upstream.
	maxProbeRetries = 3
	// execGrace is how much longer than the probe's timeout an exec probe
	// may take before its context ends, leaving the runtime time to kill
	// the command and report (upstream leaves the CRI call 2 minutes).
	execGrace = 2 * time.Minute

	// Event reasons, as upstream's kubelet.
	reasonUnhealthy    = "Unhealthy"
	reasonProbeWarning = "ProbeWarning"
)

// errNoPodIP means a network probe has no address to go to yet; the run is
// skipped quietly until AddPod brings the pod's IP.
var errNoPodIP = errors.New("pod has no IP yet")

// kindTitle is the probe kind as it starts upstream's event messages.
func kindTitle(kind string) string {
	switch kind {
	case KindLiveness:
		return "Liveness"
	case KindReadiness:
		return "Readiness"
	case KindStartup:
		return "Startup"
	}
	return "UNKNOWN"
}

// podIP is the pod's primary IP, or "" if it has none yet.
func podIP(pod *corev1.Pod) string {
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return ""
}

// podDesc names a pod in messages as upstream's format.Pod does.
func podDesc(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// containerRef is the object events about a container are about: the pod,
// with the container's field path.
func containerRef(pod *corev1.Pod, c *corev1.Container) *corev1.ObjectReference {
	fieldPath := "implicitly required container " + c.Name
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == c.Name {
			fieldPath = fmt.Sprintf("spec.containers{%s}", c.Name)
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == c.Name {
			fieldPath = fmt.Sprintf("spec.initContainers{%s}", c.Name)
		}
	}
	return &corev1.ObjectReference{
		Kind:            "Pod",
		APIVersion:      "v1",
		Namespace:       pod.Namespace,
		Name:            pod.Name,
		UID:             pod.UID,
		ResourceVersion: pod.ResourceVersion,
		FieldPath:       fieldPath,
	}
}

func (m *Manager) containerEvent(pod *corev1.Pod, c *corev1.Container, eventType, reason, format string, args ...any) {
	if m.recorder == nil {
		return
	}
	m.recorder.Eventf(containerRef(pod, c), eventType, reason, format, args...)
}

// probe runs a container probe (retrying one that could not be run),
// records upstream's events and returns success or failure; an error means
// the run tells nothing and its result is to be thrown away.
func (m *Manager) probe(ctx context.Context, kind string, spec *corev1.Probe, pod *corev1.Pod, c *corev1.Container, containerID string) (result, error) {
	log := m.log.WithValues("pod", klog.KObj(pod), "podUID", pod.UID, "containerName", c.Name, "probeType", kind)
	var (
		res result
		out string
		err error
	)
	for range maxProbeRetries {
		res, out, err = m.runProbe(ctx, spec, pod, c, containerID)
		if err == nil || errors.Is(err, errNoPodIP) || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return resultUnknown, ctx.Err()
	}
	if errors.Is(err, errNoPodIP) {
		log.V(1).Info("Probe waits for the pod's IP")
		return resultUnknown, err
	}
	if err != nil {
		log.V(1).Info("Probe errored", "probeResult", res, "err", err)
		m.containerEvent(pod, c, corev1.EventTypeWarning, reasonUnhealthy,
			"%s probe errored and resulted in %s state: %s", kindTitle(kind), res, err)
		return resultFailure, err
	}
	switch res {
	case resultSuccess:
		return resultSuccess, nil
	case resultWarning:
		m.containerEvent(pod, c, corev1.EventTypeWarning, reasonProbeWarning, "%s probe warning: %s", kindTitle(kind), out)
		return resultSuccess, nil
	default:
		log.V(1).Info("Probe failed", "probeResult", res, "output", out)
		m.containerEvent(pod, c, corev1.EventTypeWarning, reasonUnhealthy, "%s probe failed: %s", kindTitle(kind), out)
		return resultFailure, nil
	}
}

// runProbe runs the probe's handler once.
func (m *Manager) runProbe(ctx context.Context, spec *corev1.Probe, pod *corev1.Pod, c *corev1.Container, containerID string) (result, string, error) {
	timeout := time.Duration(spec.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	switch {
	case spec.Exec != nil:
		// As upstream, the command sees only the env values written in the
		// spec, not the pod's computed environment.
		cmd := expandStatic(spec.Exec.Command, c.Env)
		ectx, cancel := context.WithTimeout(ctx, timeout+execGrace)
		defer cancel()
		stdout, stderr, code, err := m.exec.ExecSync(ectx, containerID, cmd, timeout)
		return execOutcome(cmd, timeout, stdout, stderr, code, err)

	case spec.HTTPGet != nil:
		ip := podIP(pod)
		if spec.HTTPGet.Host == "" && ip == "" {
			return resultUnknown, "", errNoPodIP
		}
		req, err := newHTTPGetRequest(ctx, spec.HTTPGet, c, ip, "probe")
		if err != nil {
			return resultUnknown, "", err
		}
		client := &http.Client{Timeout: timeout, Transport: m.probeTransport, CheckRedirect: sameHostRedirects}
		res, out := doHTTPProbe(client, req)
		return res, out, nil

	case spec.TCPSocket != nil:
		port, err := resolvePort(spec.TCPSocket.Port, c)
		if err != nil {
			return resultUnknown, "", err
		}
		host := spec.TCPSocket.Host
		if host == "" {
			host = podIP(pod)
		}
		if host == "" {
			return resultUnknown, "", errNoPodIP
		}
		res, out := doTCPProbe(ctx, net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		return res, out, nil

	case spec.GRPC != nil:
		host := podIP(pod)
		if host == "" {
			return resultUnknown, "", errNoPodIP
		}
		service := ""
		if spec.GRPC.Service != nil {
			service = *spec.GRPC.Service
		}
		res, out := doGRPCProbe(ctx, host, service, int(spec.GRPC.Port), timeout)
		return res, out, nil
	}
	return resultUnknown, "", fmt.Errorf("missing probe handler for %s:%s", podDesc(pod), c.Name)
}
