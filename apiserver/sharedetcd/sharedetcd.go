package sharedetcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/kubernetes"
	"google.golang.org/grpc/connectivity"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericfeatures "k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	cacherstorage "k8s.io/apiserver/pkg/storage/cacher"
	"k8s.io/apiserver/pkg/storage/etcd3"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// The client settings of k8s.io/apiserver's etcd3 storage factory.
const (
	dialTimeout      = 20 * time.Second
	keepaliveTime    = 30 * time.Second
	keepaliveTimeout = 10 * time.Second
)

// Clients hands out one etcd client, and one compactor, per transport
// (server list and TLS files); a client is closed when the last storage
// using it is destroyed.
type Clients struct {
	mu      sync.Mutex
	clients map[string]*shared
}

type shared struct {
	client        *kubernetes.Client
	compactor     etcd3.Compactor
	stopCompactor func()
	refs          int
}

// NewClients returns an empty set of shared clients.
func NewClients() *Clients { return &Clients{clients: map[string]*shared{}} }

// Getter wraps a RESTOptionsGetter so that the storage of every resource it
// configures uses the shared client. watchCache says whether the wrapped
// getter puts a watch cache in front of storage (EtcdOptions.EnableWatchCache
// without a zero --watch-cache-sizes entry); configurations this package does
// not handle (an egress selector for etcd) keep the wrapped getter's storage.
func (c *Clients) Getter(inner generic.RESTOptionsGetter, watchCache func(generic.RESTOptions) bool) generic.RESTOptionsGetter {
	return &getter{inner: inner, clients: c, watchCache: watchCache}
}

type getter struct {
	inner      generic.RESTOptionsGetter
	clients    *Clients
	watchCache func(generic.RESTOptions) bool
}

func (g *getter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.inner.GetRESTOptions(resource, example)
	if err != nil || opts.StorageConfig == nil || opts.StorageConfig.Transport.EgressLookup != nil {
		return opts, err
	}
	if g.watchCache(opts) {
		opts.Decorator = g.clients.withCacher()
	} else {
		opts.Decorator = g.clients.raw
	}
	return opts, nil
}

// raw is a generic.StorageDecorator without a watch cache.
func (c *Clients) raw(config *storagebackend.ConfigForResource, resourcePrefix string, _ func(obj runtime.Object) (string, error),
	newFunc, newListFunc func() runtime.Object, _ storage.AttrFunc, _ storage.IndexerFuncs, _ *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
	return c.newStorage(config, newFunc, newListFunc, resourcePrefix)
}

// withCacher is genericregistry.StorageWithCacher over the shared client's
// storage.
func (c *Clients) withCacher() generic.StorageDecorator {
	return func(config *storagebackend.ConfigForResource, resourcePrefix string, keyFunc func(obj runtime.Object) (string, error),
		newFunc, newListFunc func() runtime.Object, getAttrs storage.AttrFunc, triggers storage.IndexerFuncs, indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		s, destroy, err := c.newStorage(config, newFunc, newListFunc, resourcePrefix)
		if err != nil {
			return nil, nil, err
		}
		cacher, err := cacherstorage.NewCacherFromConfig(cacherstorage.Config{
			Storage:             s,
			Versioner:           storage.APIObjectVersioner{},
			GroupResource:       config.GroupResource,
			EventsHistoryWindow: config.EventsHistoryWindow,
			ResourcePrefix:      resourcePrefix,
			KeyFunc:             keyFunc,
			NewFunc:             newFunc,
			NewListFunc:         newListFunc,
			GetAttrsFunc:        getAttrs,
			IndexerFuncs:        triggers,
			Indexers:            indexers,
			Codec:               config.Codec,
		})
		if err != nil {
			destroy()
			return nil, nil, fmt.Errorf("create watch cache for %s: %w", config.GroupResource, err)
		}
		delegator := cacherstorage.NewCacheDelegator(cacher, s)
		var once sync.Once
		return delegator, func() {
			once.Do(func() {
				delegator.Stop()
				cacher.Stop()
				destroy()
			})
		}, nil
	}
}

// newStorage is the etcd3 storage of one resource on the shared client of
// its transport, configured as k8s.io/apiserver's factory configures it.
func (c *Clients) newStorage(config *storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (storage.Interface, factory.DestroyFunc, error) {
	sh, release, err := c.acquire(config.Transport, config.CompactionInterval)
	if err != nil {
		return nil, nil, err
	}
	transformer := config.Transformer
	if transformer == nil {
		transformer = identity.NewEncryptCheckTransformer()
	}
	versioner := storage.APIObjectVersioner{}
	decoder := etcd3.NewDefaultDecoder(config.Codec, versioner)
	unsafeDelete := utilfeature.DefaultFeatureGate.Enabled(genericfeatures.AllowUnsafeMalformedObjectDeletion)
	if unsafeDelete {
		transformer = etcd3.WithCorruptObjErrorHandlingTransformer(transformer)
		decoder = etcd3.WithCorruptObjErrorHandlingDecoder(decoder)
	}
	store, err := etcd3.New(sh.client, sh.compactor, config.Codec, newFunc, newListFunc, config.Prefix, resourcePrefix,
		config.GroupResource, transformer, config.LeaseManagerConfig, decoder, versioner)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("create etcd3 storage for %s: %w", config.GroupResource, err)
	}
	var once sync.Once
	destroy := func() {
		// Destroy functions are called more than once (subresources share
		// their resource's storage).
		once.Do(func() {
			store.Close()
			release()
		})
	}
	var s storage.Interface = store
	if unsafeDelete {
		s = etcd3.NewStoreWithUnsafeCorruptObjectDeletion(s, config.GroupResource)
	}
	return s, destroy, nil
}

// acquire returns the shared client of transport t, dialling it and
// starting its compactor on first use, and the function that releases it.
func (c *Clients) acquire(t storagebackend.TransportConfig, compactionInterval time.Duration) (*shared, func(), error) {
	key := fmt.Sprintf("%v|%s|%s|%s|%v", t.ServerList, t.CertFile, t.KeyFile, t.TrustedCAFile, compactionInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	sh, ok := c.clients[key]
	if !ok {
		client, err := dial(t)
		if err != nil {
			return nil, nil, err
		}
		sh = &shared{client: client, stopCompactor: func() {}}
		if compactionInterval > 0 {
			comp := etcd3.StartCompactorPerEndpoint(client.Client, compactionInterval)
			sh.compactor, sh.stopCompactor = comp, comp.Stop
		}
		c.clients[key] = sh
		klog.V(1).InfoS("Dialled the shared etcd client", "servers", t.ServerList)
	}
	sh.refs++
	var once sync.Once
	return sh, func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			sh.refs--
			if sh.refs > 0 {
				return
			}
			delete(c.clients, key)
			sh.stopCompactor()
			_ = sh.client.Close()
		})
	}, nil
}

// dial creates an etcd client for t and waits until its connection is ready.
func dial(t storagebackend.TransportConfig) (*kubernetes.Client, error) {
	cfg := clientv3.Config{
		DialTimeout:          dialTimeout,
		DialKeepAliveTime:    keepaliveTime,
		DialKeepAliveTimeout: keepaliveTimeout,
		Endpoints:            t.ServerList,
	}
	if t.CertFile != "" || t.KeyFile != "" || t.TrustedCAFile != "" {
		tlsConfig, err := (transport.TLSInfo{CertFile: t.CertFile, KeyFile: t.KeyFile, TrustedCAFile: t.TrustedCAFile}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS: %w", err)
		}
		cfg.TLS = tlsConfig
	}
	client, err := kubernetes.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("create etcd client for %v: %w", t.ServerList, err)
	}
	// Per-request etcd latency metrics, once for all resources.
	client.KV = etcd3.NewETCDLatencyTracker(client.KV)
	if err := waitReady(client); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("connect to etcd %v: %w", t.ServerList, err)
	}
	return client, nil
}

func waitReady(client *kubernetes.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	conn := client.ActiveConnection()
	if conn == nil {
		return fmt.Errorf("no gRPC connection")
	}
	for {
		state := conn.GetState()
		if state == connectivity.Ready {
			return nil
		}
		if state == connectivity.Idle {
			conn.Connect()
		}
		if !conn.WaitForStateChange(ctx, state) {
			return fmt.Errorf("gRPC connection not ready: %w", ctx.Err())
		}
	}
}
