package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var skiffBinary string

func TestMain(m *testing.M) {
	bin, cleanup, err := findBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	skiffBinary = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// findBinary returns $SKIFF_BINARY, or builds cmd/skiff into a temp dir.
func findBinary() (string, func(), error) {
	if b := os.Getenv("SKIFF_BINARY"); b != "" {
		return b, func() {}, nil
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir, err := os.MkdirTemp("", "skiff-e2e-bin-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "skiff")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/skiff")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("build skiff: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// freePort returns a free loopback TCP port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a skiff subcommand running as its own process group.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(skiffBinary, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start skiff %v: %v", args, err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process group and waits until it is gone.
func (p *process) kill() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("skiff exited with %v after SIGTERM:\n%s", p.err, p.out.String())
		}
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("skiff did not stop within 30s of SIGTERM")
	}
}

// apiServer is a running `skiff apiserver`.
type apiServer struct {
	*process
	dataDir, url string
	port         int
}

func startAPIServer(t *testing.T, dataDir string, port int) *apiServer {
	t.Helper()
	p := start(t, "apiserver", "--data-dir", dataDir, "--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1")
	s := &apiServer{process: p, dataDir: dataDir, port: port, url: fmt.Sprintf("https://127.0.0.1:%d", port)}
	waitReady(t, s.url, p)
	return s
}

func (s *apiServer) kubeconfig() string { return filepath.Join(s.dataDir, "admin.kubeconfig") }

func (s *apiServer) config(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	return cfg
}

func (s *apiServer) client(t *testing.T) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(s.config(t))
}

// waitReady polls /readyz anonymously, as envtest does, until it is 200.
func waitReady(t *testing.T, url string, p *process) {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("skiff exited: %v", p.err)
		}
		resp, err := client.Get(url + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("%s/readyz not ok: %v\n%s", url, err, p.out.String())
	}
}

// kubectlStep is one kubectl invocation of a scenario and what its output
// must show.
type kubectlStep struct {
	name  string
	args  []string
	stdin string
	// stdinFrom, when set, gives stdin at the step's turn (for input that
	// depends on earlier steps).
	stdinFrom func() string
	want      []string // regular expressions the output must match
	wantErr   bool
}

// kubectlRunner runs kubectl (a command line: a binary and its leading
// arguments) against kubeconfig, returning its combined output.
func kubectlRunner(kubectl []string, kubeconfig string) func(stdin string, args ...string) (string, error) {
	return func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(kubectl[0], append(kubectl[1:], args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
}

// runKubectlSteps runs steps in order and checks each one's exit status
// and output.
func runKubectlSteps(t *testing.T, run func(stdin string, args ...string) (string, error), steps []kubectlStep) {
	t.Helper()
	for _, step := range steps {
		stdin := step.stdin
		if step.stdinFrom != nil {
			stdin = step.stdinFrom()
		}
		out, err := run(stdin, step.args...)
		if (err != nil) != step.wantErr {
			t.Errorf("%s: kubectl %s: err = %v, want error %v\n%s", step.name, strings.Join(step.args, " "), err, step.wantErr, out)
			continue
		}
		trimmed := strings.TrimSpace(out)
		for _, w := range step.want {
			if !regexp.MustCompile(`(?m)` + w).MatchString(trimmed) {
				t.Errorf("%s: kubectl %s: output does not match %q:\n%s", step.name, strings.Join(step.args, " "), w, out)
			}
		}
	}
}
