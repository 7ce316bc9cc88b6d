package prober

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// reasonLifecycleHTTPFallback is upstream's event reason for an HTTPS hook
// that was answered in plain HTTP and retried over HTTP.
const reasonLifecycleHTTPFallback = "LifecycleHTTPFallback"

// RunHandler runs a postStart or preStop hook of container c (whose current
// instance is containerID) and waits for it, as upstream's kubelet:
//   - exec runs the command with no timeout of its own (ctx bounds it); a
//     non-zero exit code is an error;
//   - httpGet sends the request to the handler's host or the pod's IP
//     (following redirects only to the same host); only a failure to get a
//     response is an error, whatever the status code; an HTTPS request
//     answered in plain HTTP is retried over HTTP, with a warning event;
//   - sleep waits the given seconds, and is an error if ctx ends first;
//   - tcpSocket, deprecated and never implemented upstream, is an invalid
//     handler.
//
// On error msg is upstream's message for the FailedPostStartHook or
// FailedPreStopHook event the caller records.
func (m *Manager) RunHandler(ctx context.Context, pod *corev1.Pod, c *corev1.Container, containerID string, h *corev1.LifecycleHandler) (msg string, err error) {
	log := klog.FromContext(ctx).WithValues("pod", klog.KObj(pod), "containerName", c.Name)
	switch {
	case h.Exec != nil:
		stdout, stderr, code, err := m.exec.ExecSync(ctx, containerID, h.Exec.Command, 0)
		if err == nil && code != 0 {
			err = fmt.Errorf("command '%s' exited with %d: %s", strings.Join(h.Exec.Command, " "), code, stderr)
		}
		if err != nil {
			output := limitOutput(stdout, stderr)
			log.V(1).Info("Exec lifecycle hook for Container in Pod failed", "execCommand", h.Exec.Command, "message", output, "err", err)
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q",
				h.Exec.Command, c.Name, podDesc(pod), err, output), err
		}
		return "", nil

	case h.HTTPGet != nil:
		if err := m.runHTTPHandler(ctx, pod, c, h.HTTPGet); err != nil {
			log.V(1).Info("HTTP lifecycle hook for Container in Pod failed", "path", h.HTTPGet.Path, "err", err)
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v",
				h.HTTPGet.Path, c.Name, podDesc(pod), err), err
		}
		return "", nil

	case h.Sleep != nil:
		if err := m.runSleepHandler(ctx, h.Sleep.Seconds); err != nil {
			log.V(1).Info("Sleep lifecycle hook for Container in Pod failed", "sleepSeconds", h.Sleep.Seconds, "err", err)
			return fmt.Sprintf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %v",
				h.Sleep.Seconds, c.Name, podDesc(pod), err), err
		}
		return "", nil
	}
	err = fmt.Errorf("invalid handler: %v", h)
	log.Error(err, "Cannot run handler")
	return fmt.Sprintf("Cannot run handler: %v", err), err
}

func (m *Manager) runSleepHandler(ctx context.Context, seconds int64) error {
	if seconds <= 0 {
		return nil
	}
	t := m.clock.NewTimer(time.Duration(seconds) * time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errors.New("container terminated before sleep hook finished")
	case <-t.C():
		return nil
	}
}

func (m *Manager) runHTTPHandler(ctx context.Context, pod *corev1.Pod, c *corev1.Container, action *corev1.HTTPGetAction) error {
	ip := podIP(pod)
	if action.Host == "" && ip == "" {
		return fmt.Errorf("failed to find networking container: pod %s has no IP", podDesc(pod))
	}
	req, err := newHTTPGetRequest(ctx, action, c, ip, "lifecycle")
	if err != nil {
		return err
	}
	resp, err := m.hookClient.Do(req)
	discardBody(resp)
	if !isHTTPResponseToHTTPS(err) {
		return err
	}
	klog.FromContext(ctx).V(1).Info("HTTPS request to lifecycle hook got HTTP response, retrying with HTTP", "pod", klog.KObj(pod), "host", req.URL.Host, "err", err)
	req = req.Clone(ctx)
	req.URL.Scheme = "http"
	req.Header.Del("Authorization")
	resp, httpErr := m.hookClient.Do(req)
	discardBody(resp)
	if httpErr != nil {
		// As upstream, the error of the HTTPS request is reported.
		return err
	}
	if m.recorder != nil {
		m.recorder.Event(pod, corev1.EventTypeWarning, reasonLifecycleHTTPFallback,
			fmt.Sprintf("request to HTTPS lifecycle hook %s got HTTP response, retry with HTTP succeeded", req.URL.Host))
	}
	return nil
}

func discardBody(resp *http.Response) {
	if resp == nil {
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxOutputLength))
}

func isHTTPResponseToHTTPS(err error) bool {
	var urlErr *url.Error
	return err != nil && errors.As(err, &urlErr) && strings.Contains(urlErr.Err.Error(), "server gave HTTP response to HTTPS client")
}
