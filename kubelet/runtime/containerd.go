package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"k8s.io/klog/v2"
)

// DefaultContainerdBinary is the containerd started by a Supervisor.
const DefaultContainerdBinary = "containerd"

// SupervisorConfig configures a Skiff-owned containerd.
type SupervisorConfig struct {
	// Dir holds everything the daemon writes: config.toml, root, state, the
	// socket, the opt dir and containerd.log. Required; keep it short, since
	// the socket path must fit in 108 bytes.
	Dir string
	// Binary is the containerd executable; DefaultContainerdBinary (from
	// PATH) if empty.
	Binary string
	// LogLevel of the daemon ("info" if empty).
	LogLevel string
	// StartTimeout bounds how long Start waits for the socket to serve
	// (20 s if zero).
	StartTimeout time.Duration
}

// Supervisor runs a containerd daemon with a private root, state and socket,
// restarts it if it dies, and stops it on Stop. Shims, and so containers,
// survive both a restart and Stop.
type Supervisor struct {
	cfg  SupervisorConfig
	stop chan struct{}
	done chan struct{}

	mu  sync.Mutex
	cmd *exec.Cmd
}

// ContainerdConfigTOML renders the daemon configuration for dir: root, state,
// sockets and the opt plugin under dir, the CRI plugin disabled (Skiff drives
// containerd through its Go client) and no oom_score adjustment.
func ContainerdConfigTOML(dir, logLevel string) string {
	if logLevel == "" {
		logLevel = "info"
	}
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  address = %[5]q
  level = %[6]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[7]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), SupervisedSocket(dir),
		SupervisedSocket(dir)+".ttrpc", filepath.Join(dir, "debug.sock"), logLevel, filepath.Join(dir, "opt"))
}

// SupervisedSocket is the gRPC socket of the containerd supervised in dir.
func SupervisedSocket(dir string) string { return filepath.Join(dir, "containerd.sock") }

// StartContainerd writes the configuration, stops a daemon a crashed
// predecessor may have left on the same dir, starts containerd and waits until
// it serves. The daemon is restarted with backoff if it exits, until Stop.
func StartContainerd(ctx context.Context, cfg SupervisorConfig) (*Supervisor, error) {
	if cfg.Dir == "" {
		return nil, errors.New("containerd supervisor: Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("containerd supervisor: %w", err)
	}
	cfg.Dir = dir
	if len(SupervisedSocket(dir)) > 100 {
		return nil, fmt.Errorf("containerd supervisor: socket path %s is too long for a unix socket", SupervisedSocket(dir))
	}
	if cfg.Binary == "" {
		cfg.Binary = DefaultContainerdBinary
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 20 * time.Second
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("containerd supervisor: create %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(ContainerdConfigTOML(dir, cfg.LogLevel)), 0o600); err != nil {
		return nil, fmt.Errorf("containerd supervisor: write config: %w", err)
	}
	s := &Supervisor{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	s.killStale(ctx)

	exited, err := s.launch()
	if err != nil {
		return nil, err
	}
	if err := s.waitServing(ctx, exited); err != nil {
		s.kill()
		return nil, err
	}
	go s.supervise(klog.FromContext(ctx), exited)
	return s, nil
}

// Address is the daemon's gRPC socket.
func (s *Supervisor) Address() string { return SupervisedSocket(s.cfg.Dir) }

// LogPath is the daemon's own log file.
func (s *Supervisor) LogPath() string { return filepath.Join(s.cfg.Dir, "containerd.log") }

func (s *Supervisor) pidFile() string { return filepath.Join(s.cfg.Dir, "containerd.pid") }

// killStale stops a containerd that an earlier, crashed supervisor started on
// the same directory (it would hold the metadata lock).
func (s *Supervisor) killStale(ctx context.Context) {
	b, err := os.ReadFile(s.pidFile())
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), filepath.Join(s.cfg.Dir, "config.toml")) {
		return
	}
	klog.FromContext(ctx).Info("Stopping containerd left by a previous run", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// launch starts the daemon. The command is started from a goroutine locked to
// its thread that lives as long as the daemon: the parent-death signal is tied
// to the thread that forked, so containerd is told to stop if Skiff dies.
func (s *Supervisor) launch() (<-chan error, error) {
	logf, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("containerd supervisor: open log: %w", err)
	}
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		defer logf.Close()
		cmd := exec.Command(s.cfg.Binary, "--config", filepath.Join(s.cfg.Dir, "config.toml"))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("containerd supervisor: start %s: %w", s.cfg.Binary, err)
			return
		}
		_ = os.WriteFile(s.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
		s.mu.Lock()
		s.cmd = cmd
		s.mu.Unlock()
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}

func (s *Supervisor) waitServing(ctx context.Context, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	for {
		if _, err := os.Stat(s.Address()); err == nil {
			c, err := containerd.New(s.Address(), containerd.WithTimeout(time.Second))
			if err == nil {
				ok, err := c.IsServing(ctx)
				c.Close()
				if err == nil && ok {
					return nil
				}
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("containerd exited during start (%v); see %s", err, s.LogPath())
		case <-ctx.Done():
			return fmt.Errorf("containerd did not serve on %s within %s; see %s", s.Address(), s.cfg.StartTimeout, s.LogPath())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Supervisor) supervise(log klog.Logger, exited <-chan error) {
	defer close(s.done)
	backoff := time.Second
	for {
		select {
		case <-s.stop:
			s.terminate(exited)
			return
		case err := <-exited:
			log.Error(err, "containerd exited; restarting", "backoff", backoff, "log", s.LogPath())
			select {
			case <-s.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			var lerr error
			if exited, lerr = s.launch(); lerr != nil {
				log.Error(lerr, "Restart containerd")
				ch := make(chan error, 1)
				ch <- lerr
				exited = ch
			}
		}
	}
}

func (s *Supervisor) terminate(exited <-chan error) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	_ = os.Remove(s.pidFile())
}

func (s *Supervisor) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

// Stop terminates the daemon (SIGTERM, then SIGKILL after 10 s) and stops
// supervising it. Running containers keep running in their shims.
func (s *Supervisor) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}
