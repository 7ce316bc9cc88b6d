package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/internal/version"
)

// result is the outcome of one probe run, as upstream's probe.Result.
type result string

const (
	resultSuccess result = "success"
	// resultWarning is a success worth an event (an HTTP probe that stopped
	// at a redirect to another host).
	resultWarning result = "warning"
	resultFailure result = "failure"
	// resultUnknown comes with an error: the probe could not be run.
	resultUnknown result = "unknown"
)

const (
	// maxOutputLength bounds what is kept of an exec probe's output and of an
	// HTTP response body (upstream's 10KiB).
	maxOutputLength = 10 << 10
	// maxRedirects is how many same-host redirects an HTTP probe follows.
	maxRedirects = 10
)

// userAgent is what upstream's kubelet sends: kube-probe/1.37 for probes,
// kube-lifecycle/1.37 for hooks.
func userAgent(purpose string) string {
	v := version.Get()
	return fmt.Sprintf("kube-%s/%s.%s", purpose, v.Major, v.Minor)
}

// probeDialer makes connections that are reset rather than left in
// TIME_WAIT when closed, so that frequent probes do not exhaust local ports.
func probeDialer() *net.Dialer {
	return &net.Dialer{
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 1})
			})
		},
	}
}

// resolvePort turns a probe's port (a number, a container port name, or a
// number written as a string) into a port number.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	n := -1
	switch port.Type {
	case intstr.Int:
		n = port.IntValue()
	case intstr.String:
		found := false
		for _, p := range c.Ports {
			if p.Name == port.StrVal {
				n, found = int(p.ContainerPort), true
				break
			}
		}
		if !found {
			var err error
			if n, err = strconv.Atoi(port.StrVal); err != nil {
				return n, err
			}
		}
	default:
		return n, fmt.Errorf("intOrString had no kind: %+v", port)
	}
	if n > 0 && n < 65536 {
		return n, nil
	}
	return n, fmt.Errorf("invalid port number: %v", n)
}

// newHTTPGetRequest builds the request of an httpGet probe or hook: the host
// defaults to the pod IP, the scheme to http; headers are the action's, with
// User-Agent and Accept defaults (an empty Accept header removes it) and
// Host taken from a Host header.
func newHTTPGetRequest(ctx context.Context, action *corev1.HTTPGetAction, c *corev1.Container, podIP, purpose string) (*http.Request, error) {
	scheme := strings.ToLower(string(action.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := action.Host
	if host == "" {
		host = podIP
	}
	port, err := resolvePort(action.Port, c)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(action.Path)
	if err != nil {
		u = &url.URL{Path: action.Path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	headers := make(http.Header)
	for _, h := range action.HTTPHeaders {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers.Set("User-Agent", userAgent(purpose))
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		headers.Del("Accept")
	}
	req.Header = headers
	req.Host = headers.Get("Host")
	return req, nil
}

// sameHostRedirects follows redirects only to the host of the first
// request; a redirect elsewhere ends the probe with the redirect response.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// newProbeTransport is the transport of HTTP probes: no keep-alives (every
// probe opens a fresh connection), no proxy, no compression, and no TLS
// verification (the kubelet cannot know the container's certificate).
func newProbeTransport(tlsConfig *tls.Config) *http.Transport {
	if tlsConfig == nil {
		tlsConfig = &tls.Config{InsecureSkipVerify: true} // as upstream: probes do not verify
	}
	return &http.Transport{
		TLSClientConfig:    tlsConfig,
		DisableKeepAlives:  true,
		Proxy:              http.ProxyURL(nil),
		DisableCompression: true,
		DialContext:        probeDialer().DialContext,
	}
}

// doHTTPProbe sends req and judges the response: 2xx is success, 3xx (a
// redirect that was not followed) a warning, anything else a failure. At
// most maxOutputLength bytes of the body are read.
func doHTTPProbe(client *http.Client, req *http.Request) (result, string) {
	resp, err := client.Do(req)
	if err != nil {
		return resultFailure, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxOutputLength))
	if err != nil {
		return resultFailure, err.Error()
	}
	body := string(b)
	if resp.StatusCode >= http.StatusOK && resp.StatusCode < http.StatusBadRequest {
		if resp.StatusCode >= http.StatusMultipleChoices {
			return resultWarning, fmt.Sprintf("Probe terminated redirects, Response body: %v", body)
		}
		return resultSuccess, body
	}
	return resultFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

// doTCPProbe succeeds if a TCP connection to addr opens within timeout.
func doTCPProbe(ctx context.Context, addr string, timeout time.Duration) (result, string) {
	d := probeDialer()
	d.Timeout = timeout
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return resultFailure, err.Error()
	}
	_ = conn.Close()
	return resultSuccess, ""
}

// execOutcome judges an exec probe: exit code 0 is success, any other a
// failure with the command's output; a timed-out command is a failure, any
// other error leaves the result unknown.
func execOutcome(cmd []string, timeout time.Duration, stdout, stderr []byte, exitCode int, err error) (result, string, error) {
	out := limitOutput(stdout, stderr)
	if err != nil {
		if isTimeout(err) {
			return resultFailure, fmt.Sprintf("command timed out: %q timed out after %s", strings.Join(cmd, " "), timeout), nil
		}
		return resultUnknown, "", err
	}
	if exitCode != 0 {
		return resultFailure, out, nil
	}
	return resultSuccess, out, nil
}

// limitOutput joins stdout and stderr (as upstream's RunInContainer) and
// keeps the first maxOutputLength bytes.
func limitOutput(stdout, stderr []byte) string {
	var b bytes.Buffer
	for _, p := range [][]byte{stdout, stderr} {
		room := maxOutputLength - b.Len()
		if room <= 0 {
			break
		}
		if len(p) > room {
			p = p[:room]
		}
		b.Write(p)
	}
	return b.String()
}

// isTimeout reports whether err says a command or connection ran out of
// time: a context deadline, or an error with Timeout() true.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
