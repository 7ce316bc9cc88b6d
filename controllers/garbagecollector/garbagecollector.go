package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/internal/discoveryset"
)

// Descriptor is the garbage collector.
var Descriptor = controllers.Descriptor{Name: "garbagecollector", Setup: Setup}

// ResyncPeriod is how often the collector re-discovers the served
// resources to watch new ones (and, sooner, whenever a
// CustomResourceDefinition changes).
const ResyncPeriod = 30 * time.Second

// ignoredResources are never watched (upstream's default: events).
var ignoredResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

var crdResource = schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}

// Setup registers the garbage collector with c.Manager as a runnable (it
// runs while this process leads).
func Setup(ctx context.Context, c controllers.Context) error {
	gc, err := New(c.RESTConfig, c.Manager.GetEventRecorderFor("garbage-collector-controller"), c.Options.Workers())
	if err != nil {
		return err
	}
	return c.Manager.Add(manager.RunnableFunc(gc.Run))
}

// GarbageCollector deletes objects whose owners are gone.
type GarbageCollector struct {
	metadata  metadata.Interface
	discovery discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	recorder  record.EventRecorder
	workers   int

	// mu guards the graph.
	mu    sync.RWMutex
	graph *graph

	graphChanges    workqueue.TypedInterface[*event]
	deleteQueue     workqueue.TypedRateLimitingInterface[*node]
	orphanQueue     workqueue.TypedRateLimitingInterface[*node]
	absentOwners    *lru.Cache
	resyncRequested chan struct{}

	monitorsMu sync.Mutex
	monitors   map[schema.GroupVersionResource]*monitor
}

type monitor struct {
	resource discoveryset.Resource
	informer cache.SharedIndexInformer
	stop     chan struct{}
}

// New builds a garbage collector on cfg; Run runs it.
func New(cfg *rest.Config, recorder record.EventRecorder, workers int) (*GarbageCollector, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 100, 200
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("garbage collector: metadata client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("garbage collector: discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(dc)
	if workers <= 0 {
		workers = 5
	}
	rl := func() workqueue.TypedRateLimiter[*node] {
		return workqueue.NewTypedItemExponentialFailureRateLimiter[*node](5*time.Millisecond, 30*time.Second)
	}
	gc := &GarbageCollector{
		metadata:        md,
		discovery:       cached,
		mapper:          restmapper.NewDeferredDiscoveryRESTMapper(cached),
		recorder:        recorder,
		workers:         workers,
		graphChanges:    workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[*event]{Name: "garbage_collector_graph_changes"}),
		deleteQueue:     workqueue.NewTypedRateLimitingQueueWithConfig(rl(), workqueue.TypedRateLimitingQueueConfig[*node]{Name: "garbage_collector_attempt_to_delete"}),
		orphanQueue:     workqueue.NewTypedRateLimitingQueueWithConfig(rl(), workqueue.TypedRateLimitingQueueConfig[*node]{Name: "garbage_collector_attempt_to_orphan"}),
		absentOwners:    lru.New(500),
		resyncRequested: make(chan struct{}, 1),
		monitors:        map[schema.GroupVersionResource]*monitor{},
	}
	gc.graph = newGraph(gcEnqueuer{gc})
	return gc, nil
}

// gcEnqueuer is the graph's view of the collector's queues.
type gcEnqueuer struct{ gc *GarbageCollector }

func (e gcEnqueuer) attemptToDelete(n *node)            { e.gc.deleteQueue.Add(n) }
func (e gcEnqueuer) attemptToDeleteRateLimited(n *node) { e.gc.deleteQueue.AddRateLimited(n) }
func (e gcEnqueuer) attemptToOrphan(n *node)            { e.gc.orphanQueue.Add(n) }
func (e gcEnqueuer) absent(id objectReference)          { e.gc.absentOwners.Add(id, nil) }
func (e gcEnqueuer) invalidNamespaceOwnerRef(dep objectReference, ref metav1.OwnerReference) {
	e.gc.reportInvalidNamespaceOwnerRef(dep, ref)
}

func (gc *GarbageCollector) reportInvalidNamespaceOwnerRef(dep objectReference, ref metav1.OwnerReference) {
	if gc.recorder == nil {
		return
	}
	invalid := refIdentity(ref, dep.Namespace)
	gc.recorder.Eventf(eventReference(dep), corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
		"ownerRef %s does not exist in namespace %q", invalid, dep.Namespace)
}

// Run runs the collector until ctx ends.
func (gc *GarbageCollector) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("garbagecollector")
	ctx = klog.NewContext(ctx, log)
	log.Info("Starting garbage collector")
	defer log.Info("Stopped garbage collector")

	var wg sync.WaitGroup
	defer wg.Wait()
	defer gc.stopMonitors()
	defer gc.orphanQueue.ShutDown()
	defer gc.deleteQueue.ShutDown()
	defer gc.graphChanges.ShutDown()

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer utilruntime.HandleCrashWithContext(ctx)
		for gc.processGraphChange(log) {
		}
	}()

	// The first discovery must succeed before anything is collected.
	for {
		_, err := gc.syncMonitors(ctx)
		if err == nil {
			break
		}
		log.Error(err, "Discovering resources to watch failed, retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	if !cache.WaitForCacheSync(ctx.Done(), gc.monitorsSynced) {
		return nil
	}
	log.Info("Garbage collector synced", "resources", gc.monitorCount())

	for i := 0; i < gc.workers; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for gc.processDeleteQueue(ctx) {
			}
		}()
		go func() {
			defer wg.Done()
			for gc.processOrphanQueue(ctx) {
			}
		}()
	}

	// Re-discover periodically, and quickly after CRD changes (discovery
	// lags the CRD becoming established a little).
	timer := time.NewTimer(ResyncPeriod)
	defer timer.Stop()
	fastRetries := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-gc.resyncRequested:
			fastRetries = 10
		case <-timer.C:
		}
		changed, err := gc.syncMonitors(ctx)
		if err != nil {
			log.Error(err, "Re-discovering resources to watch failed")
		}
		next := ResyncPeriod
		if !changed && fastRetries > 0 {
			fastRetries--
			next = time.Second
		} else if changed {
			fastRetries = 0
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

func (gc *GarbageCollector) requestResync() {
	select {
	case gc.resyncRequested <- struct{}{}:
	default:
	}
}

// syncMonitors discovers the deletable resources and starts and stops
// monitors to match. It reports whether the set changed.
func (gc *GarbageCollector) syncMonitors(ctx context.Context) (bool, error) {
	log := klog.FromContext(ctx)
	gc.discovery.Invalidate()
	gc.mapper.Reset()
	found := discoveryset.Discover(gc.discovery, discoveryset.Options{
		Verbs:   []string{"list", "watch", "delete"},
		Ignored: ignoredResources,
	})
	if found.DiscoveryErr != nil && len(found.Resources) == 0 {
		return false, fmt.Errorf("discover resources: %w", found.DiscoveryErr)
	}
	failedGroups := map[schema.GroupVersion]bool{}
	var gerr *discovery.ErrGroupDiscoveryFailed
	if errors.As(found.DiscoveryErr, &gerr) {
		for gv := range gerr.Groups {
			failedGroups[gv] = true
		}
	}
	gc.monitorsMu.Lock()
	defer gc.monitorsMu.Unlock()
	changed := false
	for gvr, m := range gc.monitors {
		if _, ok := found.Resources[gvr]; ok || failedGroups[gvr.GroupVersion()] {
			continue
		}
		if found.DiscoveryErr != nil && len(failedGroups) == 0 {
			// Unknown failure: keep what we watch.
			continue
		}
		log.V(2).Info("Stopping monitor", "resource", gvr)
		close(m.stop)
		delete(gc.monitors, gvr)
		changed = true
	}
	for gvr, r := range found.Resources {
		if _, ok := gc.monitors[gvr]; ok {
			continue
		}
		log.V(4).Info("Starting monitor", "resource", gvr)
		gc.monitors[gvr] = gc.startMonitor(ctx, r)
		changed = true
	}
	if found.DiscoveryErr != nil {
		return changed, fmt.Errorf("discover resources (partially): %w", found.DiscoveryErr)
	}
	return changed, found.ParseErr
}

func (gc *GarbageCollector) startMonitor(ctx context.Context, r discoveryset.Resource) *monitor {
	inf := metadatainformer.NewFilteredMetadataInformer(gc.metadata, r.GVR, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	gvk := r.GVK()
	isCRD := r.GVR.GroupResource() == crdResource
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m := asMetadata(obj); m != nil {
				gc.graphChanges.Add(&event{typ: addEvent, gvk: gvk, obj: m})
			}
			if isCRD {
				gc.requestResync()
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			if m := asMetadata(newObj); m != nil {
				gc.graphChanges.Add(&event{typ: updateEvent, gvk: gvk, obj: m, oldObj: asMetadata(oldObj)})
			}
			if isCRD {
				gc.requestResync()
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m := asMetadata(obj); m != nil {
				gc.graphChanges.Add(&event{typ: deleteEvent, gvk: gvk, obj: m})
			}
			if isCRD {
				gc.requestResync()
			}
		},
	})
	m := &monitor{resource: r, informer: inf, stop: make(chan struct{})}
	go inf.RunWithContext(stopContext(ctx, m.stop))
	return m
}

// stopContext is ctx, also cancelled when stop closes.
func stopContext(ctx context.Context, stop <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx
}

func asMetadata(obj any) *metav1.PartialObjectMetadata {
	m, _ := obj.(*metav1.PartialObjectMetadata)
	return m
}

func (gc *GarbageCollector) stopMonitors() {
	gc.monitorsMu.Lock()
	defer gc.monitorsMu.Unlock()
	for gvr, m := range gc.monitors {
		close(m.stop)
		delete(gc.monitors, gvr)
	}
}

func (gc *GarbageCollector) monitorsSynced() bool {
	gc.monitorsMu.Lock()
	defer gc.monitorsMu.Unlock()
	if len(gc.monitors) == 0 {
		return false
	}
	for _, m := range gc.monitors {
		if !m.informer.HasSynced() {
			return false
		}
	}
	return true
}

func (gc *GarbageCollector) monitorCount() int {
	gc.monitorsMu.Lock()
	defer gc.monitorsMu.Unlock()
	return len(gc.monitors)
}

func (gc *GarbageCollector) processGraphChange(log klog.Logger) bool {
	ev, quit := gc.graphChanges.Get()
	if quit {
		return false
	}
	defer gc.graphChanges.Done(ev)
	gc.mu.Lock()
	defer gc.mu.Unlock()
	gc.graph.process(log, ev)
	return true
}

// enqueueVirtualDelete tells the graph that id was verified absent.
func (gc *GarbageCollector) enqueueVirtualDelete(id objectReference) {
	gv, _ := schema.ParseGroupVersion(id.APIVersion)
	gc.graphChanges.Add(&event{
		virtual: true,
		typ:     deleteEvent,
		gvk:     gv.WithKind(id.Kind),
		obj: &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: id.APIVersion, Kind: id.Kind},
			ObjectMeta: metav1.ObjectMeta{Namespace: id.Namespace, Name: id.Name, UID: id.UID},
		},
	})
}
