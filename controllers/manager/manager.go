package manager

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/skiff-dev/skiff/controllers"
)

// DefaultLeaseName is the Lease in kube-system the controller manager's
// replicas elect a leader with.
const DefaultLeaseName = "skiff-controller-manager"

// Config is the controller manager's configuration.
type Config struct {
	// RESTConfig reaches the API server.
	RESTConfig *rest.Config
	// Available are the controllers that exist (normally all.Descriptors()).
	Available []controllers.Descriptor
	// Controllers selects among them as --controllers does: "*" enables
	// every default-on controller, "name" enables one, "-name" disables
	// one. Empty means "*".
	Controllers []string
	// Options are passed to every controller.
	Options controllers.Options
	// LeaderElect runs the controllers only while this process holds the
	// Lease LeaderElectionNamespace/LeaderElectionID.
	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	// HealthProbeBindAddress serves /healthz and /readyz (empty: none).
	HealthProbeBindAddress string
	// MetricsBindAddress serves /metrics (empty: none).
	MetricsBindAddress string
	// GracefulShutdownTimeout bounds how long Start waits for controllers
	// to stop once its context ends (0 means 30s).
	GracefulShutdownTimeout time.Duration
}

// ControllerManager is a configured, not yet started, controller manager.
type ControllerManager struct {
	mgr     ctrlmanager.Manager
	enabled []string
}

// New builds the manager and registers the selected controllers with it.
func New(ctx context.Context, cfg Config) (*ControllerManager, error) {
	if cfg.RESTConfig == nil {
		return nil, fmt.Errorf("controller manager: no REST config")
	}
	selected, err := Select(cfg.Available, cfg.Controllers)
	if err != nil {
		return nil, err
	}
	if cfg.LeaderElectionNamespace == "" {
		cfg.LeaderElectionNamespace = "kube-system"
	}
	if cfg.LeaderElectionID == "" {
		cfg.LeaderElectionID = DefaultLeaseName
	}
	metricsAddr := cfg.MetricsBindAddress
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	probeAddr := cfg.HealthProbeBindAddress
	if probeAddr == "" {
		probeAddr = "0"
	}
	shutdown := cfg.GracefulShutdownTimeout
	if shutdown == 0 {
		shutdown = 30 * time.Second
	}
	restCfg := rest.CopyConfig(cfg.RESTConfig)
	if restCfg.UserAgent == "" {
		restCfg.UserAgent = "skiff-controller-manager"
	}
	if restCfg.WarningHandler == nil && restCfg.WarningHandlerWithContext == nil {
		restCfg.WarningHandlerWithContext = dropEndpointsDeprecation{}
	}
	mgr, err := ctrl.NewManager(restCfg, ctrlmanager.Options{
		Scheme:                        clientgoscheme.Scheme,
		Logger:                        klog.Background().WithName("controller-manager"),
		LeaderElection:                cfg.LeaderElect,
		LeaderElectionNamespace:       cfg.LeaderElectionNamespace,
		LeaderElectionID:              cfg.LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		HealthProbeBindAddress:        probeAddr,
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		GracefulShutdownTimeout:       &shutdown,
	})
	if err != nil {
		return nil, fmt.Errorf("controller manager: %w", err)
	}
	if probeAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("controller manager: %w", err)
	}
	cc := controllers.Context{Manager: mgr, Client: client, RESTConfig: restCfg, Options: cfg.Options}
	cm := &ControllerManager{mgr: mgr}
	for _, d := range selected {
		if err := d.Setup(ctx, cc); err != nil {
			return nil, fmt.Errorf("controller %q: %w", d.Name, err)
		}
		cm.enabled = append(cm.enabled, d.Name)
	}
	return cm, nil
}

// Enabled lists the controllers that were set up, in order.
func (cm *ControllerManager) Enabled() []string { return cm.enabled }

// Manager is the underlying controller-runtime manager.
func (cm *ControllerManager) Manager() ctrlmanager.Manager { return cm.mgr }

// Start runs the controllers until ctx ends.
func (cm *ControllerManager) Start(ctx context.Context) error {
	klog.FromContext(ctx).Info("Starting controller manager", "controllers", cm.enabled)
	return cm.mgr.Start(ctx)
}

// Select applies a --controllers list to the available controllers.
func Select(available []controllers.Descriptor, names []string) ([]controllers.Descriptor, error) {
	if len(names) == 0 {
		names = []string{"*"}
	}
	known := map[string]bool{}
	for _, d := range available {
		known[d.Name] = true
	}
	star := false
	on, off := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "*":
			star = true
		case strings.HasPrefix(n, "-"):
			if !known[n[1:]] {
				return nil, unknownController(n[1:], available)
			}
			off[n[1:]] = true
		default:
			if !known[n] {
				return nil, unknownController(n, available)
			}
			on[n] = true
		}
	}
	var out []controllers.Descriptor
	for _, d := range available {
		if off[d.Name] {
			continue
		}
		if on[d.Name] || (star && !d.DisabledByDefault) {
			out = append(out, d)
		}
	}
	return out, nil
}

func unknownController(name string, available []controllers.Descriptor) error {
	names := make([]string, 0, len(available))
	for _, d := range available {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	return fmt.Errorf("%q is not a known controller; known controllers: %s", name, strings.Join(names, ", "))
}

// dropEndpointsDeprecation logs the API server's warnings except the one
// every write of a v1 Endpoints gets: the endpoints controller must keep
// writing them for the clients that still read them.
type dropEndpointsDeprecation struct{}

func (dropEndpointsDeprecation) HandleWarningHeaderWithContext(ctx context.Context, code int, agent, text string) {
	if code != 299 || strings.Contains(text, "v1 Endpoints is deprecated") {
		return
	}
	klog.FromContext(ctx).Info("Warning from the API server", "warning", text)
}
