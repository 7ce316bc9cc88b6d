package envtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/skiff-dev/skiff/test/envtest/operator"
)

// The environment every test shares, started once by TestMain.
var (
	env    *envtest.Environment
	scheme = runtime.NewScheme()
	// k8s is an uncached admin client: what a test reads is what the API
	// server holds, not what the operator's cache has seen.
	k8s client.Client
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest suite:", err)
		code = 1
	}
	os.Exit(code)
}

// run starts the control plane and the operator, runs the tests, and tears
// both down again.
func run(m *testing.M) (code int, err error) {
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return 0, fmt.Errorf("build scheme: %w", err)
	}
	ctrl.SetLogger(klog.Background())

	tmp, err := os.MkdirTemp("", "skiff-envtest-")
	if err != nil {
		return 0, fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	assets, err := assetsDir(tmp)
	if err != nil {
		return 0, err
	}

	env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join("operator", "testdata", "crds")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join("operator", "testdata", "webhooks")},
		},
		Scheme:                   scheme,
		ControlPlaneStartTimeout: 45 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cfg, err := env.Start()
	if err != nil {
		return 0, fmt.Errorf("start envtest with assets in %s: %w", assets, err)
	}
	defer func() {
		if stopErr := env.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("stop envtest: %w", stopErr)
		}
	}()
	fmt.Fprintf(os.Stderr, "envtest: kube-apiserver %s\n", env.ControlPlane.APIServer.Path)

	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return 0, fmt.Errorf("create client: %w", err)
	}
	stopOperator, err := startOperator(cfg)
	if err != nil {
		return 0, err
	}
	code = m.Run()
	if err := stopOperator(); err != nil {
		return code, err
	}
	return code, nil
}

// assetsDir returns $KUBEBUILDER_ASSETS if set (so the same suite can be run
// against upstream binaries), else a directory under tmp laid out by
// `skiff envtest-assets`.
func assetsDir(tmp string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	bin := os.Getenv("SKIFF_BINARY")
	if bin == "" {
		// The test runs in its package directory, two levels below the root.
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			return "", fmt.Errorf("find the repository root: %w", err)
		}
		bin = filepath.Join(tmp, "skiff")
		build := exec.Command("go", "build", "-o", bin, "./cmd/skiff")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build skiff in %s: %w\n%s", root, err, out)
		}
	}
	dir := filepath.Join(tmp, "assets")
	if out, err := exec.Command(bin, "envtest-assets", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s envtest-assets %s: %w\n%s", bin, dir, err, out)
	}
	return dir, nil
}

// startOperator runs a manager with the Widget reconciler and webhooks on
// the serving address and certificates envtest prepared, and returns once
// the webhook server answers. The returned func stops the manager.
func startOperator(cfg *rest.Config) (func() error, error) {
	hooks := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    hooks.LocalServingHost,
			Port:    hooks.LocalServingPort,
			CertDir: hooks.LocalServingCertDir,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	reconciler := &operator.WidgetReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme()}
	if err := reconciler.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up widget reconciler: %w", err)
	}
	operator.RegisterWebhooks(mgr.GetWebhookServer())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stop := func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("run manager: %w", err)
		}
		return nil
	}

	started := mgr.GetWebhookServer().StartedChecker()
	var last error
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("manager exited early: %w", err)
		default:
		}
		last = started(nil)
		return last == nil, nil
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("wait for the webhook server: %w", errors.Join(err, last))
	}
	return stop, nil
}
