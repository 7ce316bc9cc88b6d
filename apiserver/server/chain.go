package server

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	apiextensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	genericfilters "k8s.io/apiserver/pkg/endpoints/filters"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/filters"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/util/notfoundhandler"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	aggregatorscheme "k8s.io/kube-aggregator/pkg/apiserver/scheme"
	aggregatoropenapi "k8s.io/kube-aggregator/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	generatedopenapi "github.com/skiff-dev/skiff/apiserver/generated/openapi"
	"github.com/skiff-dev/skiff/apiserver/scheme"
	"github.com/skiff-dev/skiff/apiserver/sharedetcd"
	"github.com/skiff-dev/skiff/internal/version"
)

// specialResourcePrefixes are the etcd key prefixes kube-apiserver uses
// that differ from the resource name, so that Skiff's etcd layout is
// byte-compatible with kube-apiserver's.
var specialResourcePrefixes = map[schema.GroupResource]string{
	{Resource: "replicationcontrollers"}:                "controllers",
	{Resource: "endpoints"}:                             "services/endpoints",
	{Resource: "nodes"}:                                 "minions",
	{Resource: "services"}:                              "services/specs",
	{Group: "extensions", Resource: "ingresses"}:        "ingress",
	{Group: "networking.k8s.io", Resource: "ingresses"}: "ingress",
}

// metricsScheme holds only metrics.k8s.io's external types, for the OpenAPI
// namer: client-go's scheme does not have them.
var metricsScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(metricsv1beta1.AddToScheme(s))
	return s
}()

// buildChain assembles kube-aggregator → built-in groups →
// apiextensions-apiserver → 404, as kube-apiserver's CreateServerChain does.
// ready is called once the chain reports ready (see addStartupMemoryHook).
func buildChain(ctx context.Context, o *Options, ready func()) (*aggregatorapiserver.APIAggregator, error) {
	started := time.Now()
	step := func(name string) {
		klog.FromContext(ctx).V(2).Info("Server chain step done", "step", name, "elapsed", time.Since(started))
	}
	base, deps, err := buildGenericConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	step("generic config")

	extCfg, err := apiExtensionsConfig(base, o, deps)
	if err != nil {
		return nil, err
	}
	ext, err := extCfg.Complete().New(genericapiserver.NewEmptyDelegateWithCustomHandler(
		notfoundhandler.New(base.Serializer, genericfilters.NoMuxAndDiscoveryIncompleteKey)))
	if err != nil {
		return nil, fmt.Errorf("create apiextensions-apiserver: %w", err)
	}
	step("apiextensions-apiserver")

	builtin, err := newBuiltinServer(base, o, deps, ext.GenericAPIServer)
	if err != nil {
		return nil, err
	}
	step("built-in groups")

	aggCfg, err := aggregatorConfig(base, o, deps)
	if err != nil {
		return nil, err
	}
	agg, err := newAggregator(aggCfg, builtin, ext.Informers.Apiextensions().V1().CustomResourceDefinitions())
	if err != nil {
		return nil, err
	}
	step("kube-aggregator")
	if err := addStartupMemoryHook(agg.GenericAPIServer, ready); err != nil {
		return nil, err
	}
	if err := addLoopbackComponents(agg.GenericAPIServer, o.LoopbackComponents); err != nil {
		return nil, err
	}
	return agg, nil
}

// dependencies are the clients and informers every server of the chain shares.
type dependencies struct {
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	informers informers.SharedInformerFactory
	// tokenAuthenticators and authorizers are exposed to the built-in
	// review resources (TokenReview, SubjectAccessReview, ...).
	authn authnResult
	authz authzResult
	// etcdClients is the one etcd client every server's storage shares.
	etcdClients *sharedetcd.Clients
}

// watchCacheFor says, as EtcdOptions' RESTOptionsGetter decides it, whether
// a resource's storage has a watch cache: unless the cache is disabled, or
// disabled for that resource with a --watch-cache-sizes entry of 0.
func watchCacheFor(e *genericoptions.EtcdOptions) func(generic.RESTOptions) bool {
	// Validated with the options.
	sizes, _ := genericoptions.ParseWatchCacheSizes(e.WatchCacheSizes)
	enabled := e.EnableWatchCache
	return func(opts generic.RESTOptions) bool {
		size, ok := sizes[opts.StorageConfig.GroupResource]
		return enabled && !(ok && size <= 0)
	}
}

func buildGenericConfig(ctx context.Context, o *Options) (*genericapiserver.RecommendedConfig, *dependencies, error) {
	c := genericapiserver.NewRecommendedConfig(scheme.Codecs)
	if err := o.ServerRun.ApplyTo(&c.Config); err != nil {
		return nil, nil, fmt.Errorf("apply server run options: %w", err)
	}
	c.EffectiveVersion = skiffEffectiveVersion{c.EffectiveVersion}

	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts(o.ServerRun.AdvertiseAddress.String(), []string{"kubernetes.default.svc", "kubernetes.default", "kubernetes"}, nil); err != nil {
		return nil, nil, fmt.Errorf("create self-signed serving certificate: %w", err)
	}
	if err := o.applyServing(&c.Config); err != nil {
		return nil, nil, err
	}
	// The server's own clients speak protobuf, as kube-apiserver's do.
	c.LoopbackClientConfig.ContentConfig.ContentType = runtime.ContentTypeProtobuf
	c.LoopbackClientConfig.DisableCompression = true
	c.ClientConfig = c.LoopbackClientConfig

	client, err := kubernetes.NewForConfig(c.LoopbackClientConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("create loopback client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(c.LoopbackClientConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("create loopback dynamic client: %w", err)
	}
	c.SharedInformerFactory = informers.NewSharedInformerFactory(client, 10*time.Minute)
	deps := &dependencies{client: client, dynamic: dyn, informers: c.SharedInformerFactory, etcdClients: sharedetcd.NewClients()}

	if err := o.Features.ApplyTo(&c.Config, client, c.SharedInformerFactory); err != nil {
		return nil, nil, fmt.Errorf("apply feature options: %w", err)
	}

	// OpenAPI: the definitions of all three servers, named as kube names them.
	defs := func(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
		out := generatedopenapi.GetOpenAPIDefinitions(ref)
		maps.Copy(out, apiextensionsopenapi.GetOpenAPIDefinitions(ref))
		maps.Copy(out, aggregatoropenapi.GetOpenAPIDefinitions(ref))
		return out
	}
	namer := openapinamer.NewDefinitionNamer(clientgoscheme.Scheme, apiextensionsapiserver.Scheme, aggregatorscheme.Scheme, metricsScheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(defs, namer)
	c.OpenAPIConfig.Info.Title = "Kubernetes"
	c.OpenAPIConfig.Info.Version = version.GitVersion()
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(defs, namer)
	c.OpenAPIV3Config.Info.Title = "Kubernetes"
	c.OpenAPIV3Config.Info.Version = version.GitVersion()

	// Storage: protobuf in etcd under kube's key layout.
	resourceConfig := serverstorage.NewResourceConfig()
	resourceConfig.EnableVersions(scheme.GroupVersions...)
	if !o.ServeResourceMetrics {
		resourceConfig.DisableVersions(metricsv1beta1.SchemeGroupVersion)
	}
	if err := o.APIEnablement.ApplyTo(&c.Config, resourceConfig, scheme.Scheme); err != nil {
		return nil, nil, fmt.Errorf("--runtime-config: %w", err)
	}
	o.Etcd.StorageConfig.StorageObjectCountTracker = c.StorageObjectCountTracker
	sf := serverstorage.NewDefaultStorageFactory(o.Etcd.StorageConfig, o.Etcd.DefaultStorageMediaType, scheme.Codecs,
		serverstorage.NewDefaultResourceEncodingConfigForEffectiveVersion(scheme.Scheme, c.EffectiveVersion),
		c.MergedResourceConfig, specialResourcePrefixes)
	// events.k8s.io Events are stored as core/v1 Events, in one key space.
	sf.AddCohabitatingResources(corev1.Resource("events"), eventsv1.Resource("events"))
	if err := o.Etcd.ApplyWithStorageFactoryTo(sf, &c.Config); err != nil {
		return nil, nil, fmt.Errorf("apply etcd options: %w", err)
	}
	c.RESTOptionsGetter = deps.etcdClients.Getter(c.RESTOptionsGetter, watchCacheFor(o.Etcd))

	c.LongRunningFunc = filters.BasicLongRunningRequestCheck(
		sets.NewString("watch", "proxy"),
		sets.NewString("attach", "exec", "proxy", "log", "portforward"),
	)
	c.AggregatedDiscoveryGroupManager = aggregated.NewResourceManager("apis")

	authn, err := o.applyAuthentication(&c.Config, deps)
	if err != nil {
		return nil, nil, err
	}
	deps.authn = authn
	authz, err := o.applyAuthorization(&c.Config, deps)
	if err != nil {
		return nil, nil, err
	}
	deps.authz = authz
	genericapiserver.AuthorizeClientBearerToken(c.LoopbackClientConfig, &c.Authentication, &c.Authorization)

	if err := o.Audit.ApplyTo(&c.Config); err != nil {
		return nil, nil, fmt.Errorf("apply audit options: %w", err)
	}
	if err := o.EgressSelector.ApplyTo(&c.Config); err != nil {
		return nil, nil, fmt.Errorf("apply egress selector options: %w", err)
	}
	if err := o.Traces.ApplyTo(c.EgressSelector, &c.Config); err != nil {
		return nil, nil, fmt.Errorf("apply tracing options: %w", err)
	}
	if err := o.Admission.ApplyTo(&c.Config, c.SharedInformerFactory, client, dyn, c.FeatureGate, c.EffectiveVersion); err != nil {
		return nil, nil, fmt.Errorf("apply admission options: %w", err)
	}
	klog.FromContext(ctx).V(1).Info("API server configured", "etcd", o.Etcd.StorageConfig.Transport.ServerList)
	return c, deps, nil
}

// delegateConfig derives, from the shared config, the config of one of the
// chain's other servers (apiextensions-apiserver, kube-aggregator): no
// post-start hooks of its own yet, its own etcd codec, and its own default
// API enablement, as upstream's Create{APIExtensions,Aggregator}Config do.
// It returns the etcd options it applied.
func delegateConfig(base *genericapiserver.RecommendedConfig, o *Options, deps *dependencies, name string, codec runtime.Codec, encodeVersioner runtime.GroupVersioner, resources *serverstorage.ResourceConfig, registry *runtime.Scheme) (genericapiserver.Config, genericoptions.EtcdOptions, error) {
	c := base.Config
	c.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	c.RESTOptionsGetter = nil
	etcdOpts := *o.Etcd
	etcdOpts.StorageConfig.Codec = codec
	etcdOpts.StorageConfig.EncodeVersioner = encodeVersioner
	etcdOpts.SkipHealthEndpoints = true
	if err := etcdOpts.ApplyTo(&c); err != nil {
		return c, etcdOpts, fmt.Errorf("apply etcd options to %s: %w", name, err)
	}
	c.RESTOptionsGetter = deps.etcdClients.Getter(c.RESTOptionsGetter, watchCacheFor(&etcdOpts))
	if err := o.APIEnablement.ApplyTo(&c, resources, registry); err != nil {
		return c, etcdOpts, fmt.Errorf("--runtime-config for %s: %w", name, err)
	}
	return c, etcdOpts, nil
}

// apiExtensionsConfig derives the CRD server's config from the shared one.
func apiExtensionsConfig(base *genericapiserver.RecommendedConfig, o *Options, deps *dependencies) (*apiextensionsapiserver.Config, error) {
	c, etcdOpts, err := delegateConfig(base, o, deps, "apiextensions-apiserver",
		apiextensionsapiserver.Codecs.LegacyCodec(apiextensionsv1beta1.SchemeGroupVersion, apiextensionsv1.SchemeGroupVersion),
		runtime.NewMultiGroupVersioner(apiextensionsv1beta1.SchemeGroupVersion, schema.GroupKind{Group: apiextensionsv1beta1.GroupName}),
		apiextensionsapiserver.DefaultAPIResourceConfigSource(), apiextensionsapiserver.Scheme)
	if err != nil {
		return nil, err
	}
	return &apiextensionsapiserver.Config{
		GenericConfig: &genericapiserver.RecommendedConfig{Config: c, SharedInformerFactory: deps.informers},
		ExtraConfig: apiextensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: deps.etcdClients.Getter(apiextensionsoptions.NewCRDRESTOptionsGetter(etcdOpts, c.ResourceTransformers, c.StorageObjectCountTracker), watchCacheFor(&etcdOpts)),
			MasterCount:          o.APIServerCount,
			ServiceResolver:      webhook.NewDefaultServiceResolver(),
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, base.LoopbackClientConfig, nil),
		},
	}, nil
}

// aggregatorConfig derives kube-aggregator's config from the shared one; it
// serves the merged OpenAPI itself.
func aggregatorConfig(base *genericapiserver.RecommendedConfig, o *Options, deps *dependencies) (*aggregatorapiserver.Config, error) {
	c, _, err := delegateConfig(base, o, deps, "kube-aggregator",
		aggregatorscheme.Codecs.LegacyCodec(v1.SchemeGroupVersion, v1beta1.SchemeGroupVersion),
		runtime.NewMultiGroupVersioner(v1.SchemeGroupVersion, schema.GroupKind{Group: v1beta1.GroupName}),
		aggregatorapiserver.DefaultAPIResourceConfigSource(), aggregatorscheme.Scheme)
	if err != nil {
		return nil, err
	}
	c.SkipOpenAPIInstallation = true
	return &aggregatorapiserver.Config{
		GenericConfig: &genericapiserver.RecommendedConfig{Config: c, SharedInformerFactory: deps.informers},
		ExtraConfig: aggregatorapiserver.ExtraConfig{
			ProxyClientCertFile: o.ProxyClientCertFile,
			ProxyClientKeyFile:  o.ProxyClientKeyFile,
			ServiceResolver:     webhook.NewDefaultServiceResolver(),
			// Services and EndpointSlices are not served yet: without them
			// the remote availability checks cannot work.
			DisableRemoteAvailableConditionController: true,
		},
	}, nil
}
