package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"
	"k8s.io/streaming/pkg/httpstream/wsstream"
	utilexec "k8s.io/utils/exec"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// streamTarget resolves the pod (and the UID, when the path has one) of an
// exec, attach or port-forward request, writing the error response if it
// cannot.
func (s *Server) streamTarget(w http.ResponseWriter, r *http.Request) (*corev1.Pod, bool) {
	pod, ok := s.cfg.Pods.GetPodByName(r.PathValue("ns"), r.PathValue("pod"))
	if !ok {
		writeError(w, http.StatusNotFound, "pod does not exist")
		return nil, false
	}
	if uid := r.PathValue("uid"); uid != "" && types.UID(uid) != pod.UID {
		writeError(w, http.StatusNotFound, "pod not found")
		return nil, false
	}
	return pod, true
}

// runningContainer finds the running attempt of container name.
func (s *Server) runningContainer(ctx context.Context, pod *corev1.Pod, name string) (string, error) {
	if !containerSpecExists(pod, name) {
		return "", fmt.Errorf("container not found (%q)", name)
	}
	atts, err := s.attempts(ctx, pod, name)
	if err != nil {
		return "", err
	}
	for i := len(atts) - 1; i >= 0; i-- {
		if atts[i].State == runtime.ContainerRunning {
			return atts[i].ID, nil
		}
	}
	return "", fmt.Errorf("container %q in pod %q is not running", name, pod.Name)
}

// streamFunc runs an exec or attach over the negotiated streams.
type streamFunc func(ctx context.Context, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error

func (s *Server) getExec(w http.ResponseWriter, r *http.Request) {
	s.serveRemoteCommand(w, r, "exec")
}

func (s *Server) getAttach(w http.ResponseWriter, r *http.Request) {
	s.serveRemoteCommand(w, r, "attach")
}

func (s *Server) serveRemoteCommand(w http.ResponseWriter, r *http.Request, kind string) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	pod, ok := s.streamTarget(w, r)
	if !ok {
		return
	}
	id, err := s.runningContainer(r.Context(), pod, r.PathValue("container"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	cmd := r.URL.Query()["command"]
	var run streamFunc
	if kind == "exec" {
		run = func(ctx context.Context, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
			code, err := s.cfg.Runtime.Exec(ctx, id, cmd, runtime.ExecOptions{
				Stdin: in, Stdout: writerOrNil(out), Stderr: writerOrNil(errw), TTY: tty, Resize: convertResize(ctx, resize),
			})
			if err != nil {
				return err
			}
			if code != 0 {
				return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
			}
			return nil
		}
	} else {
		run = func(ctx context.Context, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
			return s.cfg.Runtime.Attach(ctx, id, runtime.AttachOptions{
				Stdin: in, Stdout: writerOrNil(out), Stderr: writerOrNil(errw), TTY: tty, Resize: convertResize(ctx, resize),
			})
		}
	}
	s.metrics.streamingRequests.WithLabelValues(kind, protocolFamily(r)).Inc()
	if wsstream.IsWebSocketRequest(r) {
		serveWebSocket(w, r, opts, run, s.cfg.StreamIdleTimeout, kind)
		return
	}
	adapter := &streamAdapter{run: run}
	if kind == "exec" {
		remotecommand.ServeExec(w, r, adapter, pod.Name, string(pod.UID), r.PathValue("container"), cmd, opts,
			s.cfg.StreamIdleTimeout, s.cfg.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
		return
	}
	remotecommand.ServeAttach(w, r, adapter, pod.Name, string(pod.UID), r.PathValue("container"), opts,
		s.cfg.StreamIdleTimeout, s.cfg.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func protocolFamily(r *http.Request) string {
	if wsstream.IsWebSocketRequest(r) {
		return "websocket"
	}
	return "spdy"
}

// writerOrNil keeps a nil stream nil across the interface conversion.
func writerOrNil(w io.WriteCloser) io.Writer {
	if w == nil {
		return nil
	}
	return w
}

func convertResize(ctx context.Context, in <-chan remotecommand.TerminalSize) <-chan runtime.TerminalSize {
	if in == nil {
		return nil
	}
	out := make(chan runtime.TerminalSize)
	go func() {
		defer close(out)
		for {
			select {
			case sz, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- runtime.TerminalSize{Width: sz.Width, Height: sz.Height}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// streamAdapter is the Executor and Attacher of the SPDY server.
type streamAdapter struct{ run streamFunc }

func (a *streamAdapter) ExecInContainer(ctx context.Context, _, _, _ string, _ []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	return a.run(ctx, in, out, errw, tty, resize)
}

func (a *streamAdapter) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return a.run(ctx, in, out, errw, tty, resize)
}

// WebSocket channel numbers of the remote command protocols.
const (
	wsStdin = iota
	wsStdout
	wsStderr
	wsError
	wsResize
)

// serveWebSocket runs an exec or attach over the WebSocket channel
// protocols: v5.channel.k8s.io (with stream close, what client-go's
// WebSocket executor speaks), v4 (binary and base64) and the unversioned
// ones.
func serveWebSocket(w http.ResponseWriter, r *http.Request, opts *remotecommand.Options, run streamFunc, idle time.Duration, kind string) {
	log := klog.FromContext(r.Context())
	ch := func(real bool, t wsstream.ChannelType) wsstream.ChannelType {
		if real {
			return t
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{
		wsStdin:  ch(opts.Stdin, wsstream.ReadChannel),
		wsStdout: ch(opts.Stdout, wsstream.WriteChannel),
		wsStderr: ch(opts.Stderr, wsstream.WriteChannel),
		wsError:  wsstream.WriteChannel,
		wsResize: wsstream.ReadChannel,
	}
	cfg := func(binary bool) wsstream.ChannelProtocolConfig {
		return wsstream.ChannelProtocolConfig{Binary: binary, Channels: channels}
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"":                                      cfg(true),
		wsstream.ChannelWebSocketProtocol:       cfg(true),
		wsstream.Base64ChannelWebSocketProtocol: cfg(false),
		"v4." + wsstream.ChannelWebSocketProtocol:       cfg(true),
		"v4." + wsstream.Base64ChannelWebSocketProtocol: cfg(false),
		"v5." + wsstream.ChannelWebSocketProtocol:       cfg(true),
	})
	conn.SetIdleTimeout(idle)
	protocol, streams, err := conn.Open(w, r)
	if err != nil {
		log.V(2).Info("Unable to upgrade websocket connection", "err", err)
		return
	}
	defer conn.Close()
	// An empty frame on the lowest writable channel tells the client the
	// connection is established.
	switch {
	case opts.Stdout:
		_, _ = streams[wsStdout].Write([]byte{})
	case opts.Stderr:
		_, _ = streams[wsStderr].Write([]byte{})
	default:
		_, _ = streams[wsError].Write([]byte{})
	}
	var in io.Reader
	var out, errw io.WriteCloser
	if opts.Stdin {
		in = streams[wsStdin]
	}
	if opts.Stdout {
		out = streams[wsStdout]
	}
	if opts.Stderr {
		errw = streams[wsStderr]
	}
	var resize chan remotecommand.TerminalSize
	if opts.TTY {
		resize = make(chan remotecommand.TerminalSize)
		go func() {
			defer close(resize)
			dec := json.NewDecoder(streams[wsResize])
			for {
				var sz remotecommand.TerminalSize
				if err := dec.Decode(&sz); err != nil {
					return
				}
				select {
				case resize <- sz:
				case <-r.Context().Done():
					return
				}
			}
		}()
	}
	err = run(r.Context(), in, out, errw, opts.TTY, resize)
	versioned := protocol != "" && protocol != wsstream.ChannelWebSocketProtocol && protocol != wsstream.Base64ChannelWebSocketProtocol
	if versioned {
		b, _ := json.Marshal(statusFor(err, kind))
		_, _ = streams[wsError].Write(b)
	} else if err != nil {
		_, _ = streams[wsError].Write([]byte(err.Error()))
	}
}

// statusFor is the v4+ error channel status of a finished command.
func statusFor(err error, kind string) *metav1.Status {
	if err == nil {
		return &metav1.Status{Status: metav1.StatusSuccess}
	}
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return &metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", exitErr),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(exitErr.ExitStatus()),
			}}},
		}
	}
	what := "executing command in container"
	if kind == "attach" {
		what = "attaching to container"
	}
	return &metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusInternalServerError,
		Reason:  metav1.StatusReasonInternalError,
		Message: fmt.Sprintf("error %s: %v", what, err),
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Message: err.Error()}}},
	}
}

func (s *Server) getPortForward(w http.ResponseWriter, r *http.Request) {
	tunnel := wsstream.IsWebSocketRequestWithTunnelingProtocol(r)
	opts := &portforward.V4Options{}
	if !tunnel {
		var err error
		if opts, err = portforward.NewV4Options(r); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	pod, ok := s.streamTarget(w, r)
	if !ok {
		return
	}
	fwd := &portForwarder{rt: s.cfg.Runtime, uid: pod.UID}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		portforward.ServePortForward(w, req, fwd, pod.Name, string(pod.UID), opts,
			s.cfg.StreamIdleTimeout, s.cfg.StreamCreationTimeout, portforward.SupportedProtocols)
	})
	family := protocolFamily(r)
	if tunnel {
		// SPDY framed inside a WebSocket (client-go's default dialer). The
		// tunnel expects the SPDY upgrade response as raw bytes on the
		// hijacked connection, as a proxy would write it.
		inner := h
		h = proxy.NewTunnelingHandler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			inner.ServeHTTP(&rawUpgradeWriter{ResponseWriter: w}, req)
		}))
		family = "websocket-tunnel"
	}
	s.metrics.streamingRequests.WithLabelValues("portforward", family).Inc()
	h.ServeHTTP(w, r)
}

type portForwarder struct {
	rt  Runtime
	uid types.UID
}

func (p *portForwarder) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	return p.rt.PortForward(ctx, p.uid, port, stream)
}

// rawUpgradeWriter holds back a 101 WriteHeader and writes it, with the
// headers, onto the connection when it is hijacked.
type rawUpgradeWriter struct {
	http.ResponseWriter
	upgrade bool
}

func (w *rawUpgradeWriter) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols {
		w.upgrade = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *rawUpgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if w.upgrade {
		var b bytes.Buffer
		b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
		if err := w.Header().Write(&b); err != nil {
			conn.Close()
			return nil, nil, err
		}
		b.WriteString("\r\n")
		if _, err := conn.Write(b.Bytes()); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn)), nil
}
