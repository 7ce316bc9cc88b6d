package controllertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/apiserver/testserver"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/manager"
)

// DefaultTimeout bounds every Eventually that does not name its own.
const DefaultTimeout = 30 * time.Second

// Options select what an Env runs.
type Options struct {
	// Controllers run in the Env's manager (all of them, whatever their
	// DisabledByDefault says).
	Controllers []controllers.Descriptor
	// ControllerOptions are passed to them.
	ControllerOptions controllers.Options
	// Server customizes the API server.
	Server testserver.Options
}

// Env is a running API server and controller manager.
type Env struct {
	Server *testserver.TestServer
	// Config is an admin client config.
	Config *rest.Config
	// Client is an admin clientset.
	Client kubernetes.Interface
	// Ctrl is an uncached controller-runtime client.
	Ctrl client.Client

	cancel context.CancelFunc
	done   chan error
}

// Start starts the server, then the controllers, and returns once both run.
func Start(opts Options) (*Env, error) {
	ts, err := testserver.Start(opts.Server)
	if err != nil {
		return nil, err
	}
	env := &Env{Server: ts, Config: ts.Config, Client: ts.Client(), done: make(chan error, 1)}
	env.Ctrl, err = client.New(ts.Config, client.Options{})
	if err != nil {
		ts.Stop()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	env.cancel = cancel
	names := make([]string, 0, len(opts.Controllers))
	for _, d := range opts.Controllers {
		names = append(names, d.Name)
	}
	cm, err := manager.New(ctx, manager.Config{
		RESTConfig:              ts.Config,
		Available:               opts.Controllers,
		Controllers:             names,
		Options:                 opts.ControllerOptions,
		GracefulShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		cancel()
		ts.Stop()
		return nil, err
	}
	go func() { env.done <- cm.Start(ctx) }()
	if !cm.Manager().GetCache().WaitForCacheSync(ctx) {
		env.Stop()
		return nil, fmt.Errorf("controller manager caches did not sync")
	}
	return env, nil
}

// Run is TestMain's body: it starts an Env into *env, runs the tests, stops
// the Env and exits.
func Run(m *testing.M, env **Env, opts Options) {
	e, err := Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "controllertest: %v\n", err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "controllertest: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Stop stops the controllers, then the server.
func (e *Env) Stop() error {
	e.cancel()
	var errs []string
	select {
	case err := <-e.done:
		if err != nil && err != context.Canceled {
			errs = append(errs, err.Error())
		}
	case <-time.After(30 * time.Second):
		errs = append(errs, "controller manager did not stop within 30s")
	}
	if err := e.Server.Stop(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Namespace creates a namespace for one test, named after it, with the
// default ServiceAccount the ServiceAccount admission plugin requires of
// pods (no serviceaccount controller runs unless a test lists it).
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: strings.Trim(name, "-") + "-"}}
	created, err := e.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := e.Client.CoreV1().ServiceAccounts(created.Name).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create the default service account: %v", err)
	}
	return created.Name
}

// Context is a context for one test, cancelled when it ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond every 50ms until it returns true, failing the test
// with what it last returned once DefaultTimeout passes.
func Eventually(t testing.TB, cond func(ctx context.Context) (bool, error), format string, args ...any) {
	t.Helper()
	EventuallyWithin(t, DefaultTimeout, cond, format, args...)
}

// EventuallyWithin is Eventually with its own deadline. A cond error is
// remembered and reported, not fatal: the condition may not hold yet.
func EventuallyWithin(t testing.TB, timeout time.Duration, cond func(ctx context.Context) (bool, error), format string, args ...any) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok && err == nil, nil
	})
	if err != nil {
		msg := fmt.Sprintf(format, args...)
		if last != nil {
			t.Fatalf("%s: not within %s (last error: %v)", msg, timeout, last)
		}
		t.Fatalf("%s: not within %s", msg, timeout)
	}
}
