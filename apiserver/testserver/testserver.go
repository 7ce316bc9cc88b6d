package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/apiserver/server"
)

// TestServer is a running in-process API server.
type TestServer struct {
	// Config is an admin (system:masters) client config.
	Config *rest.Config
	// KubeconfigPath is an admin kubeconfig file for kubectl.
	KubeconfigPath string
	// DataDir is the server's data directory.
	DataDir string
	// URL is the server's https URL.
	URL string

	cancel context.CancelFunc
	done   chan error
}

// Options adjust the server before it starts.
type Options struct {
	// DataDir reuses a data directory (to test restarts); empty means a new
	// temporary one, removed by Stop.
	DataDir string
	// Customize, when set, edits the server options (flags) before start.
	Customize func(*server.Options)
}

// Start starts a server and waits until /readyz is ok. Callers must Stop it.
func Start(opts Options) (*TestServer, error) {
	dataDir := opts.DataDir
	tempDir := ""
	if dataDir == "" {
		d, err := os.MkdirTemp("", "skiff-testserver-")
		if err != nil {
			return nil, err
		}
		dataDir, tempDir = d, d
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	o := server.NewOptions()
	o.DataDir = dataDir
	o.WriteAdminKubeconfig = true
	o.EtcdUnsafeNoFsync = true
	o.SecureServing.Listener = ln
	o.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	o.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.ServerRun.ShutdownDelayDuration = 0
	if opts.Customize != nil {
		opts.Customize(o)
	}
	s, err := server.New(o)
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &TestServer{DataDir: dataDir, URL: s.URL(), KubeconfigPath: s.KubeconfigPath, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := s.Start(ctx)
		if tempDir != "" {
			os.RemoveAll(tempDir)
		}
		ts.done <- err
	}()
	if err := ts.waitReady(ctx); err != nil {
		ts.Stop()
		return nil, err
	}
	return ts, nil
}

func (ts *TestServer) waitReady(ctx context.Context) error {
	deadline := 60 * time.Second
	var cfg *rest.Config
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, deadline, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-ts.done:
			ts.done <- err
			return false, fmt.Errorf("server exited while starting: %w", err)
		default:
		}
		if cfg == nil {
			if _, err := os.Stat(ts.KubeconfigPath); err != nil {
				return false, nil
			}
			c, err := clientcmd.BuildConfigFromFlags("", ts.KubeconfigPath)
			if err != nil {
				return false, err
			}
			cfg = c
		}
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return false, err
		}
		var status int
		client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		return status == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("wait for /readyz within %s: %w", deadline, err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	ts.Config = cfg
	return nil
}

// Client returns an admin clientset.
func (ts *TestServer) Client() kubernetes.Interface {
	return kubernetes.NewForConfigOrDie(ts.Config)
}

// Stop stops the server and waits until it has released its ports and files.
func (ts *TestServer) Stop() error {
	ts.cancel()
	select {
	case err := <-ts.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("server did not stop within 60s")
	}
}
