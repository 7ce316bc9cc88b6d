package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/skiff-dev/skiff/apiserver/certs"
	"github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/controllers/manager"
	"github.com/skiff-dev/skiff/controllers/namespace"
	"github.com/skiff-dev/skiff/controllers/scheduler"
	"github.com/skiff-dev/skiff/testenv/fakenode"
)

// Environment is one test environment. The zero value is a bare API server,
// like envtest's.
type Environment struct {
	// Scheme resolves the types of CRDs given as objects (default client-go's).
	Scheme *runtime.Scheme
	// CRDDirectoryPaths are directories or files of CRD manifests to install.
	CRDDirectoryPaths []string
	// CRDs are CRD objects to install.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// ErrorIfCRDPathMissing fails Start when a CRD path does not exist.
	ErrorIfCRDPathMissing bool
	// CRDInstallOptions are envtest's, merged with the fields above.
	CRDInstallOptions envtest.CRDInstallOptions
	// WebhookInstallOptions install webhook configurations pointing at a local
	// webhook server, exactly as envtest's do.
	WebhookInstallOptions envtest.WebhookInstallOptions

	// GarbageCollector runs the garbage collector: owned objects are deleted
	// with their owners, and foreground deletion completes.
	GarbageCollector bool
	// NamespaceController runs the namespace controller: deleting a namespace
	// deletes everything in it, then the namespace.
	NamespaceController bool
	// Controllers are further controllers to run (for example
	// deployment.Descriptor from github.com/skiff-dev/skiff/controllers/...).
	Controllers []controllers.Descriptor
	// ControllerOptions are passed to the controllers.
	ControllerOptions controllers.Options
	// Scheduler runs Skiff's scheduler, which binds pending pods to nodes
	// (fake ones, with FakeNodes).
	Scheduler bool
	// FakeNodes registers that many Ready nodes (node-0, node-1, …) that mark
	// pods bound to them Running and Ready.
	FakeNodes int

	// Config is the admin config, set by Start.
	Config *rest.Config

	server *testserver.TestServer
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
	nodes  *fakenode.Nodes
}

// Start starts the environment and returns its admin config.
func (e *Environment) Start() (*rest.Config, error) {
	// As under envtest, the ServiceAccount admission plugin is off: pods
	// need no service account and get no token.
	ts, err := testserver.Start(testserver.Options{Customize: func(o *server.Options) {
		o.Admission.DisablePlugins = append(o.Admission.DisablePlugins, "ServiceAccount")
	}})
	if err != nil {
		return nil, fmt.Errorf("start Skiff API server: %w", err)
	}
	e.server = ts
	e.Config = rest.CopyConfig(ts.Config)
	e.errs = make(chan error, 4)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if err := e.startControllers(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	if e.FakeNodes > 0 {
		names := make([]string, e.FakeNodes)
		for i := range names {
			names[i] = fmt.Sprintf("node-%d", i)
		}
		nodes, err := fakenode.Start(ctx, fakenode.Config{Client: kubernetes.NewForConfigOrDie(e.Config), Names: names})
		if err != nil {
			e.Stop()
			return nil, err
		}
		e.nodes = nodes
	}
	if e.Scheduler {
		s, err := scheduler.New(scheduler.Config{RESTConfig: e.Config})
		if err != nil {
			e.Stop()
			return nil, err
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if err := s.Start(ctx); err != nil && ctx.Err() == nil {
				e.errs <- fmt.Errorf("scheduler: %w", err)
			}
		}()
	}
	if err := e.install(); err != nil {
		e.Stop()
		return nil, err
	}
	return e.Config, nil
}

func (e *Environment) startControllers(ctx context.Context) error {
	var ds []controllers.Descriptor
	if e.GarbageCollector {
		ds = append(ds, garbagecollector.Descriptor)
	}
	if e.NamespaceController {
		ds = append(ds, namespace.Descriptor)
	}
	ds = append(ds, e.Controllers...)
	if len(ds) == 0 {
		return nil
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	o := e.ControllerOptions
	if o.RootCAFile == "" {
		o.RootCAFile = filepath.Join(e.server.DataDir, "pki", "ca.crt")
	}
	cm, err := manager.New(ctx, manager.Config{
		RESTConfig: e.Config, Available: ds, Controllers: names, Options: o,
		GracefulShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("testenv: controllers: %w", err)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := cm.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
			e.errs <- fmt.Errorf("controllers: %w", err)
		}
	}()
	if !cm.Manager().GetCache().WaitForCacheSync(ctx) {
		return errors.New("testenv: controller caches did not sync")
	}
	return nil
}

// install installs CRDs and webhooks as envtest does.
func (e *Environment) install() error {
	if err := e.WebhookInstallOptions.PrepWithoutInstalling(); err != nil {
		return err
	}
	o := e.CRDInstallOptions
	if o.Scheme == nil {
		o.Scheme = e.Scheme
	}
	if o.Scheme == nil {
		o.Scheme = clientgoscheme.Scheme
	}
	o.CRDs = append(o.CRDs, e.CRDs...)
	o.Paths = append(o.Paths, e.CRDDirectoryPaths...)
	o.ErrorIfPathMissing = o.ErrorIfPathMissing || e.ErrorIfCRDPathMissing
	o.WebhookOptions = e.WebhookInstallOptions
	crds, err := envtest.InstallCRDs(e.Config, o)
	if err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	e.CRDs = crds
	if err := e.WebhookInstallOptions.Install(e.Config); err != nil {
		return fmt.Errorf("install webhooks: %w", err)
	}
	return nil
}

// Stop stops everything Start started and removes its data. It always
// returns, within about a minute even if a part hangs.
func (e *Environment) Stop() error {
	var errs []error
	if e.cancel != nil {
		e.cancel()
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		errs = append(errs, errors.New("testenv: controllers did not stop within 30s"))
	}
	if e.errs != nil {
		for len(e.errs) > 0 {
			errs = append(errs, <-e.errs)
		}
	}
	if e.server != nil {
		if err := e.server.Stop(); err != nil {
			errs = append(errs, err)
		}
		e.server = nil
	}
	if err := e.WebhookInstallOptions.Cleanup(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// StopNode stops one fake node heartbeating and running its pods, as when a
// machine is lost.
func (e *Environment) StopNode(name string) {
	if e.nodes != nil {
		e.nodes.Stop(name)
	}
}

// User is a user to authenticate as, with a client certificate.
type User struct {
	Name   string
	Groups []string
}

// AddUser returns a copy of baseConfig (nil: the admin config) that
// authenticates as user with a client certificate of the environment's CA.
// Grant it permissions with RBAC objects, as on a real cluster.
func (e *Environment) AddUser(user User, baseConfig *rest.Config) (*rest.Config, error) {
	if e.server == nil {
		return nil, errors.New("testenv: AddUser before Start")
	}
	if baseConfig == nil {
		baseConfig = e.Config
	}
	pki := filepath.Join(e.server.DataDir, "pki")
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "skiff-ca")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(pki, "user-")
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := ca.EnsureClient(certFile, keyFile, user.Name, user.Groups); err != nil {
		return nil, fmt.Errorf("issue a client certificate for %q: %w", user.Name, err)
	}
	cfg := rest.AnonymousClientConfig(baseConfig)
	cfg.CertFile, cfg.KeyFile = certFile, keyFile
	cfg.CertData, cfg.KeyData = nil, nil
	cfg.UserAgent = strings.TrimSpace(baseConfig.UserAgent)
	return cfg, nil
}
