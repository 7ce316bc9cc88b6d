package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/controllers/manager"
)

// Config is what the control plane runs.
type Config struct {
	// APIServer are the API server's options; the control plane makes it
	// self-contained (its own CA and component credentials in its data dir).
	APIServer *server.Options
	// ControllerManager configures the controller manager; its RESTConfig is
	// filled in. Nil runs no controller manager.
	ControllerManager *manager.Config
	// Components are further components started like the controller
	// manager, once the API server is ready (the scheduler).
	Components []Component
}

// Component is a part of the control plane other than the API server and
// the controller manager.
type Component struct {
	// Name is its name in logs; its kubeconfig is <data dir>/<Kubeconfig>.kubeconfig.
	Name       string
	Kubeconfig string
	// Run runs it until ctx ends.
	Run func(ctx context.Context, cfg *rest.Config) error
}

// ControlPlane is a configured control plane.
type ControlPlane struct {
	cfg Config
	api *server.Server
}

// New validates cfg.
func New(cfg Config) (*ControlPlane, error) {
	if cfg.APIServer == nil {
		return nil, errors.New("control plane: no API server options")
	}
	cfg.APIServer.WriteAdminKubeconfig = true
	cfg.APIServer.WriteComponentKubeconfigs = true
	api, err := server.New(cfg.APIServer)
	if err != nil {
		return nil, err
	}
	return &ControlPlane{cfg: cfg, api: api}, nil
}

// APIServer is the control plane's API server.
func (cp *ControlPlane) APIServer() *server.Server { return cp.api }

// Start runs every component until ctx ends or one of them fails, then
// stops the others and returns the first error.
func (cp *ControlPlane) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 2+len(cp.cfg.Components))
	running := 1
	go func() { results <- result{"apiserver", cp.api.Start(ctx)} }()

	select {
	case <-cp.api.Ready():
	case r := <-results:
		return fmt.Errorf("%s: %w", r.name, r.err)
	}
	components := cp.cfg.Components
	if cm := cp.cfg.ControllerManager; cm != nil {
		pki := cp.api.PKIDir()
		o := &cm.Options
		defaultString(&o.RootCAFile, filepath.Join(pki, "ca.crt"))
		defaultString(&o.ServiceAccountPrivateKeyFile, filepath.Join(pki, "sa.key"))
		defaultString(&o.ClusterSigningCertFile, filepath.Join(pki, "ca.crt"))
		defaultString(&o.ClusterSigningKeyFile, filepath.Join(pki, "ca.key"))
		components = append([]Component{{
			Name:       "controller-manager",
			Kubeconfig: "controller-manager",
			Run: func(ctx context.Context, cfg *rest.Config) error {
				c := *cm
				c.RESTConfig = cfg
				m, err := manager.New(ctx, c)
				if err != nil {
					return err
				}
				return m.Start(ctx)
			},
		}}, components...)
	}
	for _, c := range components {
		cfg, err := clientcmd.BuildConfigFromFlags("", cp.api.ComponentKubeconfigPath(c.Kubeconfig))
		if err != nil {
			cancel()
			<-results
			return fmt.Errorf("%s kubeconfig: %w", c.Name, err)
		}
		if err := waitReady(ctx, cfg); err != nil {
			cancel()
			r := <-results
			if r.err != nil {
				return fmt.Errorf("%s: %w", r.name, r.err)
			}
			return err
		}
		logger.Info("Starting control-plane component", "component", c.Name)
		running++
		go func() { results <- result{c.Name, c.Run(ctx, cfg)} }()
	}

	var first error
	for ; running > 0; running-- {
		r := <-results
		if r.err != nil && !errors.Is(r.err, context.Canceled) && first == nil && ctx.Err() == nil {
			first = fmt.Errorf("%s: %w", r.name, r.err)
		}
		cancel()
	}
	return first
}

func defaultString(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// waitReady polls /readyz until it is ok.
func waitReady(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var status int
		client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		return status == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the API server's /readyz: %w", err)
	}
	return nil
}
