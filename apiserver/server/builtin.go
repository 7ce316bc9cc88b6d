package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/skiff-dev/skiff/apiserver/bootstrap/flowcontrol"
	"github.com/skiff-dev/skiff/apiserver/bootstrap/kubernetesservice"
	"github.com/skiff-dev/skiff/apiserver/bootstrap/priorityclasses"
	"github.com/skiff-dev/skiff/apiserver/printers"
	"github.com/skiff-dev/skiff/apiserver/registry/builtin"
	"github.com/skiff-dev/skiff/apiserver/registry/core/kubeletproxy"
	"github.com/skiff-dev/skiff/apiserver/registry/core/service"
	"github.com/skiff-dev/skiff/apiserver/registry/metrics"
	"github.com/skiff-dev/skiff/apiserver/resourcemetrics"
	"github.com/skiff-dev/skiff/apiserver/scheme"
)

// systemNamespaces are created before the server reports ready, as
// kube-apiserver's system-namespaces controller does.
var systemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// newBuiltinServer builds the server for the built-in groups, delegating
// unknown paths to delegate (apiextensions-apiserver).
func newBuiltinServer(c *genericapiserver.RecommendedConfig, o *Options, deps *dependencies, delegate genericapiserver.DelegationTarget) (*genericapiserver.GenericAPIServer, error) {
	// The OpenAPI documents are built on first request (installLazyOpenAPI),
	// not in PrepareRun.
	c.SkipOpenAPIInstallation = true
	completed := c.Complete()
	s, err := completed.New("skiff-apiserver", delegate)
	if err != nil {
		return nil, fmt.Errorf("create built-in API server: %w", err)
	}
	services, err := o.servicesConfig()
	if err != nil {
		return nil, err
	}
	allocators := &service.Allocators{}
	kubelet, err := o.kubeletConfig()
	if err != nil {
		return nil, err
	}
	kubelet.Authorizer = deps.authz.authorizer
	resourceMetrics, scraper, err := newResourceMetrics(completed, o, deps, kubelet)
	if err != nil {
		return nil, err
	}
	groups := builtin.Groups(builtin.Config{
		Services:      services,
		Storage:       o.Etcd.StorageConfig,
		Kubelet:       kubelet,
		Allocators:    allocators,
		EventTTL:      o.EventTTL,
		Tables:        printers.TableConvertor,
		Authenticator: deps.authn.authenticator,
		APIAudiences:  deps.authn.audiences,
		Authorizer:    deps.authz.authorizer,
		RuleResolver:  deps.authz.ruleResolver,
		RBAC:          deps.authz.rbacChecks(),

		ServiceAccountToken: deps.authn.tokenREST,
		ResourceMetrics:     resourceMetrics,
	})
	enabled := func(gvr schema.GroupVersionResource) bool {
		return completed.MergedResourceConfig.ResourceEnabled(gvr)
	}
	infos := map[string]*genericapiserver.APIGroupInfo{}
	var order []string
	for _, g := range groups {
		if !completed.MergedResourceConfig.AnyResourceForGroupEnabled(g.GroupVersion.Group) {
			continue
		}
		storage, err := g.Build(scheme.Scheme, completed.RESTOptionsGetter, enabled)
		if err != nil {
			return nil, err
		}
		if len(storage) == 0 {
			continue
		}
		info, ok := infos[g.GroupVersion.Group]
		if !ok {
			i := genericapiserver.NewDefaultAPIGroupInfo(g.GroupVersion.Group, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
			info = &i
			infos[g.GroupVersion.Group] = info
			order = append(order, g.GroupVersion.Group)
		}
		info.VersionedResourcesStorageMap[g.GroupVersion.Version] = storage
	}
	for _, group := range order {
		info := infos[group]
		if group == "" {
			err = s.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, info)
		} else {
			err = s.InstallAPIGroups(info)
		}
		if err != nil {
			return nil, fmt.Errorf("install API group %q: %w", group, err)
		}
	}
	installLazyOpenAPI(s, completed.OpenAPIConfig, completed.OpenAPIV3Config)

	// Bootstrap objects, under upstream's post-start hook names.
	hooks := map[string]func(context.Context, kubernetes.Interface) error{
		"skiff-system-namespaces": func(ctx context.Context, client kubernetes.Interface) error {
			return ensureNamespaces(ctx, client, systemNamespaces)
		},
		"scheduling/bootstrap-system-priority-classes":         priorityclasses.Ensure,
		"apiserver/bootstrap-system-flowcontrol-configuration": flowcontrol.Ensure,
	}
	for name, hook := range hooks {
		if err := addClientHook(s, name, hook); err != nil {
			return nil, err
		}
	}
	err = addKubernetesServiceHooks(s, func() (kubernetesservice.Config, error) {
		port := int32(o.SecureServing.BindPort)
		if l := s.SecureServingInfo; l != nil && l.Listener != nil {
			if addr, ok := l.Listener.Addr().(*net.TCPAddr); ok {
				port = int32(addr.Port)
			}
		}
		if len(allocators.IPs) == 0 {
			return kubernetesservice.Config{}, fmt.Errorf("no service IP range")
		}
		return kubernetesservice.Config{
			CIDRs:     services.ClusterIPRanges,
			ClusterIP: allocators.IPs[0].First(),
			Address:   o.ServerRun.AdvertiseAddress,
			Port:      port,
			// "master-count" is served as "lease".
			NoEndpoints: o.EndpointReconcilerType == "none",
		}, nil
	}, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if err := addRBACBootstrapHook(s, deps); err != nil {
		return nil, err
	}
	if scraper != nil {
		if err := addScraperHook(s, deps, scraper); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newResourceMetrics builds the scraper behind metrics.k8s.io and the
// group's storage config, unless --runtime-config turns the group off.
func newResourceMetrics(c genericapiserver.CompletedConfig, o *Options, deps *dependencies, kubelet kubeletproxy.Config) (metrics.Config, *resourcemetrics.Scraper, error) {
	if !c.MergedResourceConfig.AnyResourceForGroupEnabled(metricsv1beta1.GroupName) {
		return metrics.Config{}, nil, nil
	}
	// Asked for now, so that the factory starts them with the others.
	nodes := deps.informers.Core().V1().Nodes()
	pods := deps.informers.Core().V1().Pods()
	nodes.Informer()
	pods.Informer()
	scraper, err := resourcemetrics.New(resourcemetrics.Config{
		Nodes:      nodes.Lister(),
		Kubelets:   kubeletproxy.NewClient(kubelet),
		Resolution: o.MetricResolution,
	})
	if err != nil {
		return metrics.Config{}, nil, fmt.Errorf("--metric-resolution: %w", err)
	}
	return metrics.Config{Nodes: nodes.Lister(), Pods: pods.Lister(), Metrics: scraper}, scraper, nil
}

// addScraperHook starts the resource metrics scraper once the node and pod
// informers have synced; it runs until the server stops.
func addScraperHook(s *genericapiserver.GenericAPIServer, deps *dependencies, scraper *resourcemetrics.Scraper) error {
	synced := []cache.InformerSynced{
		deps.informers.Core().V1().Nodes().Informer().HasSynced,
		deps.informers.Core().V1().Pods().Informer().HasSynced,
	}
	return s.AddPostStartHook("skiff-resource-metrics-scraper", func(hc genericapiserver.PostStartHookContext) error {
		go func() {
			if !cache.WaitForCacheSync(hc.Done(), synced...) {
				return
			}
			scraper.Start(hc)
		}()
		return nil
	})
}

// ensureNamespaces creates the namespaces that must exist, retrying until
// the server accepts writes or ctx ends.
func ensureNamespaces(ctx context.Context, client kubernetes.Interface, names []string) error {
	return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, name := range names {
			_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				klog.FromContext(ctx).V(1).Info("Creating system namespace failed, retrying", "namespace", name, "err", err)
				return false, nil
			}
		}
		return true, nil
	})
}

// servicesConfig parses the service IP ranges and the NodePort range.
func (o *Options) servicesConfig() (service.Config, error) {
	var c service.Config
	for _, s := range strings.Split(o.ServiceClusterIPRange, ",") {
		_, cidr, err := net.ParseCIDR(strings.TrimSpace(s))
		if err != nil {
			return c, fmt.Errorf("--service-cluster-ip-range: %q is not a CIDR: %w", s, err)
		}
		c.ClusterIPRanges = append(c.ClusterIPRanges, cidr)
	}
	if len(c.ClusterIPRanges) > 2 || (len(c.ClusterIPRanges) == 2 && (c.ClusterIPRanges[0].IP.To4() == nil) == (c.ClusterIPRanges[1].IP.To4() == nil)) {
		return c, fmt.Errorf("--service-cluster-ip-range: give one range, or one IPv4 and one IPv6 range, not %q", o.ServiceClusterIPRange)
	}
	pr, err := utilnet.ParsePortRange(o.ServiceNodePortRange)
	if err != nil {
		return c, fmt.Errorf("--service-node-port-range: %w", err)
	}
	c.NodePortRange = *pr
	return c, nil
}

// kubeletConfig builds the kubelet connection from the --kubelet-* flags:
// a client certificate when given, kubelets' serving certificates checked
// against --kubelet-certificate-authority when given (as kube-apiserver,
// unverified otherwise).
func (o *Options) kubeletConfig() (kubeletproxy.Config, error) {
	c := kubeletproxy.Config{Timeout: o.KubeletTimeout}
	for _, t := range o.KubeletPreferredAddressTypes {
		c.PreferredAddressTypes = append(c.PreferredAddressTypes, corev1.NodeAddressType(t))
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if (o.KubeletClientCertificate == "") != (o.KubeletClientKey == "") {
		return c, fmt.Errorf("--kubelet-client-certificate and --kubelet-client-key go together")
	}
	if o.KubeletClientCertificate != "" {
		pair, err := tls.LoadX509KeyPair(o.KubeletClientCertificate, o.KubeletClientKey)
		if err != nil {
			return c, fmt.Errorf("--kubelet-client-certificate/--kubelet-client-key: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	}
	if o.KubeletCertificateAuthority != "" {
		pem, err := os.ReadFile(o.KubeletCertificateAuthority)
		if err != nil {
			return c, fmt.Errorf("--kubelet-certificate-authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return c, fmt.Errorf("--kubelet-certificate-authority: %s holds no PEM certificate", o.KubeletCertificateAuthority)
		}
		tlsConfig.RootCAs = pool
	}
	c.TLSClientConfig = tlsConfig
	return c, nil
}
