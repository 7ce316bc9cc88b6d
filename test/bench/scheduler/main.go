package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/controllers/scheduler"
)

type options struct {
	kubeconfig string
	nodes      int
	pods       int
	workers    int
	precreate  bool
	cpuProfile string
	timeout    time.Duration
	namespace  string
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the API server (required)")
	flag.IntVar(&o.nodes, "nodes", 5000, "Node objects to create (32 CPU, 256Gi, 110 pods each)")
	flag.IntVar(&o.pods, "pods", 10000, "unbound pods to create")
	flag.IntVar(&o.workers, "workers", 64, "concurrent creates")
	flag.BoolVar(&o.precreate, "precreate", false, "create every pod before starting the scheduler (pure scheduling throughput; latency then includes the wait for the scheduler)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (scheduler included) while pods are scheduled")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up after this long")
	flag.StringVar(&o.namespace, "namespace", "bench-scheduler", "namespace of the pods")
	klog.InitFlags(nil)
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench-scheduler: %v\n", err)
		os.Exit(1)
	}
}

func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func run(o options) error {
	if o.kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 10000, 20000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	t0 := time.Now()
	alloc := v1.ResourceList{v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("256Gi"), v1.ResourcePods: resource.MustParse("110")}
	err = parallel(o.nodes, o.workers, func(i int) error {
		name := fmt.Sprintf("bench-node-%05d", i)
		n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			v1.LabelHostname: name, v1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%3),
		}}}
		created, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			created, err = client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		}
		if err != nil {
			return fmt.Errorf("create node %s: %w", name, err)
		}
		// Admission taints new nodes not-ready; these stand for Ready ones.
		if len(created.Spec.Taints) > 0 {
			created.Spec.Taints = nil
			if created, err = client.CoreV1().Nodes().Update(ctx, created, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("untaint node %s: %w", name, err)
			}
		}
		created.Status = v1.NodeStatus{Capacity: alloc, Allocatable: alloc, Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}}
		if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("nodes_created %d\nnodes_create_s %.2f\n", o.nodes, time.Since(t0).Seconds())

	ns := o.namespace
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace: %w", err)
	}
	sa := &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("service account: %w", err)
	}

	// The watch that sees the bindings: an informer, so that a closed
	// watch is resumed.
	var mu sync.Mutex
	created := make(map[string]time.Time, o.pods)
	bound := make(map[string]time.Time, o.pods)
	var firstBind, lastBind time.Time
	allBound := make(chan struct{})
	seen := func(obj any) {
		p, ok := obj.(*v1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if _, dup := bound[p.Name]; dup {
			return
		}
		bound[p.Name] = now
		if firstBind.IsZero() {
			firstBind = now
		}
		lastBind = now
		if len(bound) == o.pods {
			close(allBound)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: seen, UpdateFunc: func(_, n any) { seen(n) }}); err != nil {
		return err
	}
	ictx, icancel := context.WithCancel(ctx)
	factory.Start(ictx.Done())
	defer func() { icancel(); factory.Shutdown() }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return errors.New("pod informer did not sync")
	}

	startScheduler := func() (func(), error) {
		s, err := scheduler.New(scheduler.Config{RESTConfig: cfg})
		if err != nil {
			return nil, err
		}
		sctx, scancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Start(sctx) }()
		for s.CachedNodeCount() < o.nodes {
			select {
			case err := <-done:
				scancel()
				return nil, fmt.Errorf("scheduler stopped: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		return func() { scancel(); <-done }, nil
	}
	var tCreate time.Time
	createPods := func() error {
		t := time.Now()
		tCreate = t
		err := parallel(o.pods, o.workers, func(i int) error {
			name := fmt.Sprintf("bench-pod-%05d", i)
			p := &v1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: v1.PodSpec{
					AutomountServiceAccountToken: new(false),
					Containers: []v1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10", Resources: v1.ResourceRequirements{
						Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m"), v1.ResourceMemory: resource.MustParse("128Mi")},
					}}},
				},
			}
			mu.Lock()
			created[name] = time.Now()
			mu.Unlock()
			if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create pod %s: %w", name, err)
			}
			return nil
		})
		d := time.Since(t)
		fmt.Printf("pods_created %d\npods_create_s %.2f\npods_create_per_s %.0f\n", o.pods, d.Seconds(), float64(o.pods)/d.Seconds())
		return err
	}

	var stop func()
	if o.precreate {
		if err := createPods(); err != nil {
			return err
		}
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	tStart := time.Now()
	if stop, err = startScheduler(); err != nil {
		return err
	}
	defer stop()
	fmt.Printf("scheduler_sync_s %.2f\n", time.Since(tStart).Seconds())
	if !o.precreate {
		if err := createPods(); err != nil {
			return err
		}
	}
	select {
	case <-allBound:
	case <-ctx.Done():
		mu.Lock()
		n := len(bound)
		mu.Unlock()
		return fmt.Errorf("only %d of %d pods bound before the timeout", n, o.pods)
	}

	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(bound))
	for name, tb := range bound {
		if tc, ok := created[name]; ok {
			lat = append(lat, tb.Sub(tc))
		}
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(q * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	span := lastBind.Sub(firstBind)
	fmt.Printf("pods_bound %d\n", len(bound))
	fmt.Printf("created_to_last_bind_s %.2f\n", lastBind.Sub(tCreate).Seconds())
	fmt.Printf("first_to_last_bind_s %.2f\n", span.Seconds())
	fmt.Printf("scheduling_pods_per_s %.0f\n", float64(len(bound))/span.Seconds())
	fmt.Printf("latency_p50_ms %.1f\nlatency_p90_ms %.1f\nlatency_p99_ms %.1f\nlatency_max_ms %.1f\n", pct(0.5), pct(0.9), pct(0.99), pct(1))
	return nil
}
