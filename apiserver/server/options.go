package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/sets"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/admission"
	"github.com/skiff-dev/skiff/apiserver/resourcemetrics"
)

// Options are the API server's command-line options: kube-apiserver's flag
// surface, plus Skiff's --data-dir.
type Options struct {
	// DataDir holds the embedded etcd data, generated certificates and the
	// admin kubeconfig. Empty means /var/lib/skiff.
	DataDir string

	ServerRun      *genericoptions.ServerRunOptions
	SecureServing  *genericoptions.SecureServingOptions
	Etcd           *genericoptions.EtcdOptions
	Audit          *genericoptions.AuditOptions
	Features       *genericoptions.FeatureOptions
	Admission      *genericoptions.AdmissionOptions
	APIEnablement  *genericoptions.APIEnablementOptions
	EgressSelector *genericoptions.EgressSelectorOptions
	Traces         *genericoptions.TracingOptions
	Logs           *logs.Options

	Authentication AuthenticationOptions
	Authorization  AuthorizationOptions

	// EtcdUnsafeNoFsync runs the embedded etcd without fsync (tests only).
	EtcdUnsafeNoFsync bool
	// WriteAdminKubeconfig makes the server generate its own CA, serving
	// certificate and an admin client certificate in DataDir, and write
	// DataDir/admin.kubeconfig. `skiff apiserver` sets it; the
	// kube-apiserver personality does not (it uses --cert-dir and
	// --client-ca-file as given, like upstream).
	WriteAdminKubeconfig bool
	// WriteComponentKubeconfigs, with WriteAdminKubeconfig, also writes
	// controller-manager.kubeconfig and scheduler.kubeconfig into the data
	// dir, each with a client certificate of its own identity
	// (system:kube-controller-manager, system:kube-scheduler).
	WriteComponentKubeconfigs bool
	// LoopbackComponents run inside the server once it has started, each
	// with a copy of its loopback client config (system:apiserver, a
	// super-user), until the server stops: the kube-apiserver personality
	// runs the garbage collector and namespace controller this way when
	// asked to. A component's error is logged; it does not stop the server.
	LoopbackComponents map[string]func(ctx context.Context, loopback *rest.Config) error

	// Flags kube-apiserver has that later parts of Skiff use (Services,
	// nodes, aggregation). They are accepted and validated now.
	AllowPrivileged         bool
	ServiceClusterIPRange   string
	ServiceNodePortRange    string
	EventTTL                time.Duration
	ProxyClientCertFile     string
	ProxyClientKeyFile      string
	EnableAggregatorRouting bool
	APIServerCount          int
	EndpointReconcilerType  string
	DeprecatedAdmission     []string
	// Kubelet connection of the pods/log, exec, attach, portforward and
	// proxy subresources (kube-apiserver's --kubelet-* flags).
	KubeletCertificateAuthority  string
	KubeletClientCertificate     string
	KubeletClientKey             string
	KubeletPreferredAddressTypes []string
	KubeletTimeout               time.Duration
	// MetricResolution is how often the in-process metrics-server scrapes
	// kubelets for metrics.k8s.io (metrics-server's --metric-resolution).
	MetricResolution time.Duration
	// ServeResourceMetrics enables metrics.k8s.io by default (Skiff's own
	// servers). The kube-apiserver personality leaves it off, as upstream
	// serves it only through metrics-server; --runtime-config overrides.
	ServeResourceMetrics bool
}

// AuthenticationOptions are kube-apiserver's authentication flags.
type AuthenticationOptions struct {
	Anonymous     bool
	ClientCert    genericoptions.ClientCertAuthenticationOptions
	RequestHeader genericoptions.RequestHeaderAuthenticationOptions
	TokenAuthFile string
	APIAudiences  []string

	ServiceAccountIssuers          []string
	ServiceAccountKeyFiles         []string
	ServiceAccountSigningKeyFile   string
	ServiceAccountMaxExpiration    time.Duration
	ServiceAccountExtendExpiration bool
	ServiceAccountLookup           bool
	WebhookConfigFile              string
	AuthenticationConfigFile       string
	EnableBootstrapTokenAuth       bool
	OIDCIssuerURL                  string
	ServiceAccountJWKSURI          string
	ServiceAccountSigningEndpoint  string
}

// AuthorizationOptions are kube-apiserver's authorization flags.
type AuthorizationOptions struct {
	Modes             []string
	WebhookConfigFile string
	ConfigFile        string
	PolicyFile        string
}

// Authorization modes kube-apiserver knows.
const (
	ModeAlwaysAllow = "AlwaysAllow"
	ModeAlwaysDeny  = "AlwaysDeny"
	ModeRBAC        = "RBAC"
	ModeNode        = "Node"
	ModeWebhook     = "Webhook"
	ModeABAC        = "ABAC"
)

// NewOptions returns options with kube-apiserver's defaults.
func NewOptions() *Options {
	o := &Options{
		ServerRun:      genericoptions.NewServerRunOptions(),
		SecureServing:  genericoptions.NewSecureServingOptions(),
		Etcd:           genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig("/registry", nil)),
		Audit:          genericoptions.NewAuditOptions(),
		Features:       genericoptions.NewFeatureOptions(),
		Admission:      admission.NewOptions(),
		APIEnablement:  genericoptions.NewAPIEnablementOptions(),
		EgressSelector: genericoptions.NewEgressSelectorOptions(),
		Traces:         genericoptions.NewTracingOptions(),
		Logs:           logs.NewOptions(),
		Authentication: AuthenticationOptions{
			Anonymous:                   true,
			ServiceAccountMaxExpiration: 0,
			ServiceAccountLookup:        true,
		},
		Authorization: AuthorizationOptions{Modes: []string{ModeRBAC}},

		ServiceClusterIPRange:        "10.0.0.0/24",
		ServiceNodePortRange:         "30000-32767",
		EventTTL:                     time.Hour,
		APIServerCount:               1,
		EndpointReconcilerType:       "lease",
		KubeletPreferredAddressTypes: []string{"Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"},
		KubeletTimeout:               5 * time.Second,
		MetricResolution:             resourcemetrics.DefaultResolution,
		ServeResourceMetrics:         true,
	}
	o.SecureServing.BindPort = 6443
	// Unlike kube-apiserver (false), Skiff stops within seconds with watches
	// open: once the in-flight requests have drained, the HTTP server gets 2s
	// instead of --request-timeout to close, and requests arriving meanwhile
	// get 429 with Retry-After. A restart is then shorter than a controller's
	// leader-election renew deadline (10s), so controllers ride it out.
	o.ServerRun.ShutdownSendRetryAfter = true
	o.SecureServing.ServerCert.PairName = "apiserver"
	// Completed from --data-dir (skiff apiserver) or as kube-apiserver's
	// default (/var/run/kubernetes).
	o.SecureServing.ServerCert.CertDirectory = ""
	o.Etcd.StorageConfig.CompactionInterval = 5 * time.Minute
	o.Etcd.DefaultStorageMediaType = "application/vnd.kubernetes.protobuf"
	// As kube-apiserver: the priority-and-fairness filter needs the
	// flowcontrol API, which Skiff serves with the other built-in groups.
	o.Features.EnablePriorityAndFairness = false
	return o
}

// AddFlags registers every flag, grouped as kube-apiserver groups them.
func (o *Options) AddFlags(fss *cliflag.NamedFlagSets, withDataDir bool) {
	if withDataDir {
		fs := fss.FlagSet("skiff")
		fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for the embedded etcd data, generated certificates and the admin kubeconfig (default /var/lib/skiff).")
	}
	o.ServerRun.AddUniversalFlags(fss.FlagSet("generic"))
	o.Etcd.AddFlags(fss.FlagSet("etcd"))
	o.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	o.Audit.AddFlags(fss.FlagSet("auditing"))
	o.Features.AddFlags(fss.FlagSet("features"))
	o.Admission.AddFlags(fss.FlagSet("admission"))
	o.APIEnablement.AddFlags(fss.FlagSet("API enablement"))
	o.EgressSelector.AddFlags(fss.FlagSet("egress selector"))
	o.Traces.AddFlags(fss.FlagSet("traces"))
	logsapi.AddFlags(o.Logs, fss.FlagSet("logs"))
	o.addAuthenticationFlags(fss.FlagSet("authentication"))
	o.addAuthorizationFlags(fss.FlagSet("authorization"))
	o.addKubeFlags(fss.FlagSet("kube-apiserver"))
	fss.FlagSet("metrics").DurationVar(&o.MetricResolution, "metric-resolution", o.MetricResolution,
		"The interval at which kubelets' resource metrics are scraped for metrics.k8s.io (as metrics-server's flag).")
}

func (o *Options) addAuthenticationFlags(fs *pflag.FlagSet) {
	a := &o.Authentication
	fs.BoolVar(&a.Anonymous, "anonymous-auth", a.Anonymous, "Enables anonymous requests to the secure port. Requests not rejected by another authentication method are treated as anonymous (system:anonymous, group system:unauthenticated).")
	a.ClientCert.AddFlags(fs)
	a.RequestHeader.AddFlags(fs)
	fs.StringVar(&a.TokenAuthFile, "token-auth-file", a.TokenAuthFile, "If set, the file that will be used to secure the secure port of the API server via token authentication (CSV: token,user,uid,\"group1,group2\").")
	fs.StringSliceVar(&a.APIAudiences, "api-audiences", a.APIAudiences, "Identifiers of the API. The service account token authenticator validates that tokens used against the API are bound to at least one of these audiences. Defaults to the first --service-account-issuer.")
	fs.StringArrayVar(&a.ServiceAccountIssuers, "service-account-issuer", a.ServiceAccountIssuers, "Identifier of the service account token issuer (iss claim). May be given several times: the first is used to issue tokens, all are accepted.")
	fs.StringArrayVar(&a.ServiceAccountKeyFiles, "service-account-key-file", a.ServiceAccountKeyFiles, "File containing PEM-encoded public keys, private keys or certificates used to verify ServiceAccount tokens. May be given several times. Defaults to --service-account-signing-key-file.")
	fs.StringVar(&a.ServiceAccountSigningKeyFile, "service-account-signing-key-file", a.ServiceAccountSigningKeyFile, "Path to the file that contains the current private key of the service account token issuer.")
	fs.DurationVar(&a.ServiceAccountMaxExpiration, "service-account-max-token-expiration", a.ServiceAccountMaxExpiration, "The maximum validity duration of a token created by the service account token issuer (0: no maximum).")
	fs.BoolVar(&a.ServiceAccountExtendExpiration, "service-account-extend-token-expiration", true, "Turns on projected service account expiration extension during token generation.")
	fs.BoolVar(&a.ServiceAccountLookup, "service-account-lookup", a.ServiceAccountLookup, "If true, validate ServiceAccount tokens exist in etcd as part of authentication.")
	fs.StringVar(&a.WebhookConfigFile, "authentication-token-webhook-config-file", a.WebhookConfigFile, "File with webhook configuration for token authentication in kubeconfig format.")
	fs.StringVar(&a.AuthenticationConfigFile, "authentication-config", a.AuthenticationConfigFile, "File with Authentication Configuration.")
	fs.BoolVar(&a.EnableBootstrapTokenAuth, "enable-bootstrap-token-auth", a.EnableBootstrapTokenAuth, "Enable to allow secrets of type 'bootstrap.kubernetes.io/token' in the 'kube-system' namespace to be used for TLS bootstrapping authentication.")
	fs.StringVar(&a.OIDCIssuerURL, "oidc-issuer-url", a.OIDCIssuerURL, "The URL of the OpenID issuer (not supported by Skiff yet; setting it is an error).")
	fs.StringVar(&a.ServiceAccountJWKSURI, "service-account-jwks-uri", a.ServiceAccountJWKSURI, "Overrides the URI for the JSON Web Key Set in the discovery doc served at /.well-known/openid-configuration.")
	fs.StringVar(&a.ServiceAccountSigningEndpoint, "service-account-signing-endpoint", a.ServiceAccountSigningEndpoint, "Path to a socket of an external JWT signer (not supported by Skiff; setting it is an error).")
}

func (o *Options) addAuthorizationFlags(fs *pflag.FlagSet) {
	a := &o.Authorization
	fs.StringSliceVar(&a.Modes, "authorization-mode", a.Modes, "Ordered list of plug-ins to do authorization on secure port: "+strings.Join([]string{ModeAlwaysAllow, ModeAlwaysDeny, ModeNode, ModeRBAC}, ",")+".")
	fs.StringVar(&a.WebhookConfigFile, "authorization-webhook-config-file", a.WebhookConfigFile, "File with webhook configuration in kubeconfig format, used with --authorization-mode=Webhook.")
	fs.StringVar(&a.ConfigFile, "authorization-config", a.ConfigFile, "File with Authorization Configuration (not supported by Skiff yet; setting it is an error).")
	fs.StringVar(&a.PolicyFile, "authorization-policy-file", a.PolicyFile, "File with ABAC authorization policy (ABAC is not supported by Skiff; setting it is an error).")
}

func (o *Options) addKubeFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.AllowPrivileged, "allow-privileged", o.AllowPrivileged, "If true, allow privileged containers.")
	fs.StringVar(&o.ServiceClusterIPRange, "service-cluster-ip-range", o.ServiceClusterIPRange, "A CIDR notation IP range from which to assign service cluster IPs (at most one IPv4 and one IPv6, comma-separated).")
	fs.StringVar(&o.ServiceNodePortRange, "service-node-port-range", o.ServiceNodePortRange, "A port range to reserve for services with NodePort visibility, e.g. '30000-32767'.")
	fs.DurationVar(&o.EventTTL, "event-ttl", o.EventTTL, "Amount of time to retain events.")
	fs.StringVar(&o.ProxyClientCertFile, "proxy-client-cert-file", o.ProxyClientCertFile, "Client certificate used to prove the identity of the aggregator or kube-apiserver when it must call out during a request.")
	fs.StringVar(&o.ProxyClientKeyFile, "proxy-client-key-file", o.ProxyClientKeyFile, "Private key for the client certificate in --proxy-client-cert-file.")
	fs.BoolVar(&o.EnableAggregatorRouting, "enable-aggregator-routing", o.EnableAggregatorRouting, "Turns on aggregator routing requests to endpoints IP rather than cluster IP.")
	fs.IntVar(&o.APIServerCount, "apiserver-count", o.APIServerCount, "The number of apiservers running in the cluster, must be a positive number.")
	fs.StringVar(&o.EndpointReconcilerType, "endpoint-reconciler-type", o.EndpointReconcilerType, "Use an endpoint reconciler (master-count, lease, none).")
	fs.StringSliceVar(&o.DeprecatedAdmission, "admission-control", o.DeprecatedAdmission, "Admission is divided into two phases... (deprecated: use --enable-admission-plugins or --disable-admission-plugins).")
	fs.StringVar(&o.KubeletCertificateAuthority, "kubelet-certificate-authority", o.KubeletCertificateAuthority, "Path to a cert file for the certificate authority of kubelets' serving certificates.")
	fs.StringVar(&o.KubeletClientCertificate, "kubelet-client-certificate", o.KubeletClientCertificate, "Path to a client cert file for TLS to kubelets.")
	fs.StringVar(&o.KubeletClientKey, "kubelet-client-key", o.KubeletClientKey, "Path to a client key file for TLS to kubelets.")
	fs.StringSliceVar(&o.KubeletPreferredAddressTypes, "kubelet-preferred-address-types", o.KubeletPreferredAddressTypes, "List of the preferred NodeAddressTypes to use for kubelet connections.")
	fs.DurationVar(&o.KubeletTimeout, "kubelet-timeout", o.KubeletTimeout, "Timeout for kubelet operations.")
}

// Complete fills defaults that depend on other options.
func (o *Options) Complete() error {
	if o.DataDir == "" {
		o.DataDir = "/var/lib/skiff"
	}
	if o.SecureServing.ServerCert.CertDirectory == "" {
		if o.WriteAdminKubeconfig {
			o.SecureServing.ServerCert.CertDirectory = filepath.Join(o.DataDir, "pki")
		} else {
			o.SecureServing.ServerCert.CertDirectory = "/var/run/kubernetes"
		}
	}
	if len(o.DeprecatedAdmission) > 0 {
		o.Admission.EnablePlugins = append(o.Admission.EnablePlugins, o.DeprecatedAdmission...)
	}
	a := &o.Authentication
	if len(a.ServiceAccountKeyFiles) == 0 && a.ServiceAccountSigningKeyFile != "" {
		a.ServiceAccountKeyFiles = []string{a.ServiceAccountSigningKeyFile}
	}
	if len(a.APIAudiences) == 0 && len(a.ServiceAccountIssuers) > 0 {
		a.APIAudiences = []string{a.ServiceAccountIssuers[0]}
	}
	if o.ServerRun.AdvertiseAddress == nil || o.ServerRun.AdvertiseAddress.IsUnspecified() {
		if ip := o.SecureServing.BindAddress; ip != nil && !ip.IsUnspecified() {
			o.ServerRun.AdvertiseAddress = ip
		} else if err := o.ServerRun.DefaultAdvertiseAddress(o.SecureServing); err != nil {
			o.ServerRun.AdvertiseAddress = netutils.ParseIPSloppy("127.0.0.1")
		}
	}
	return nil
}

// Validate reports every invalid option.
func (o *Options) Validate() []error {
	var errs []error
	errs = append(errs, o.ServerRun.Validate()...)
	errs = append(errs, o.SecureServing.Validate()...)
	errs = append(errs, o.Audit.Validate()...)
	errs = append(errs, o.Features.Validate()...)
	errs = append(errs, o.Admission.Validate()...)
	errs = append(errs, o.EgressSelector.Validate()...)
	errs = append(errs, o.Traces.Validate()...)
	if len(o.Etcd.StorageConfig.Transport.ServerList) > 0 {
		errs = append(errs, o.Etcd.Validate()...)
	}
	errs = append(errs, o.Authentication.RequestHeader.Validate()...)
	a := o.Authentication
	if a.OIDCIssuerURL != "" {
		errs = append(errs, fmt.Errorf("--oidc-issuer-url: OIDC authentication is not supported by Skiff yet"))
	}
	if a.AuthenticationConfigFile != "" {
		errs = append(errs, fmt.Errorf("--authentication-config: structured authentication configuration is not supported by Skiff yet"))
	}
	if a.ServiceAccountSigningEndpoint != "" {
		errs = append(errs, fmt.Errorf("--service-account-signing-endpoint: external JWT signers are not supported by Skiff"))
	}
	if a.ServiceAccountSigningKeyFile != "" && len(a.ServiceAccountIssuers) == 0 {
		errs = append(errs, fmt.Errorf("--service-account-issuer is required with --service-account-signing-key-file"))
	}
	if a.ServiceAccountMaxExpiration != 0 && a.ServiceAccountMaxExpiration < time.Hour {
		errs = append(errs, fmt.Errorf("--service-account-max-token-expiration must be at least 1h, or 0 for no maximum"))
	}
	known := sets.New(ModeAlwaysAllow, ModeAlwaysDeny, ModeRBAC, ModeNode, ModeWebhook, ModeABAC)
	seen := sets.New[string]()
	for _, m := range o.Authorization.Modes {
		switch {
		case !known.Has(m):
			errs = append(errs, fmt.Errorf("--authorization-mode: %q is not a valid mode (valid: AlwaysAllow, AlwaysDeny, Node, RBAC, Webhook)", m))
		case seen.Has(m):
			errs = append(errs, fmt.Errorf("--authorization-mode: %q is given more than once", m))
		case m == ModeABAC:
			errs = append(errs, fmt.Errorf("--authorization-mode: ABAC is not supported by Skiff"))
		case m == ModeWebhook && o.Authorization.WebhookConfigFile == "":
			errs = append(errs, fmt.Errorf("--authorization-mode=Webhook requires --authorization-webhook-config-file"))
		}
		seen.Insert(m)
	}
	if len(o.Authorization.Modes) == 0 {
		errs = append(errs, fmt.Errorf("--authorization-mode must name at least one mode"))
	}
	if o.Authorization.ConfigFile != "" {
		errs = append(errs, fmt.Errorf("--authorization-config: structured authorization configuration is not supported by Skiff yet; use --authorization-mode"))
	}
	if o.Authorization.PolicyFile != "" {
		errs = append(errs, fmt.Errorf("--authorization-policy-file: ABAC is not supported by Skiff"))
	}
	for _, cidr := range strings.Split(o.ServiceClusterIPRange, ",") {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(cidr)); err != nil {
			errs = append(errs, fmt.Errorf("--service-cluster-ip-range: %q is not a CIDR: %w", cidr, err))
		}
	}
	if o.MetricResolution <= 0 {
		errs = append(errs, fmt.Errorf("--metric-resolution must be positive, not %s", o.MetricResolution))
	}
	if o.APIServerCount <= 0 {
		errs = append(errs, fmt.Errorf("--apiserver-count must be positive, not %d", o.APIServerCount))
	}
	return errs
}
