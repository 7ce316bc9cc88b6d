package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// benchLabel marks the driver's pods.
const benchLabel = "skiff.dev/bench"

type options struct {
	kubeconfig string
	namespace  string
	pods       int
	image      string
	node       string
	timeout    time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (required)")
	flag.StringVar(&o.namespace, "namespace", "bench-kubelet", "namespace of the pods (created if missing)")
	flag.IntVar(&o.pods, "pods", 30, "pods to create at once (create)")
	flag.StringVar(&o.image, "image", "skiff.dev/busybox:static", "image of the pods' container, present on the node (create)")
	flag.StringVar(&o.node, "node", "", "bind the pods to this node by spec.nodeName; empty: the scheduler places them (create)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	klog.InitFlags(nil)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s create|delete [flags]\n", os.Args[0])
		flag.PrintDefaults()
	}
	if len(os.Args) < 2 {
		flag.Usage()
		os.Exit(2)
	}
	mode := os.Args[1]
	if err := flag.CommandLine.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	var err error
	switch mode {
	case "create":
		err = run(o, create)
	case "delete":
		err = run(o, remove)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "podstartup %s: %v\n", mode, err)
		os.Exit(1)
	}
}

// recorder keeps the first time the watch saw each pod reach a state.
type recorder struct {
	mu        sync.Mutex
	scheduled map[string]time.Time
	running   map[string]time.Time
	ready     map[string]time.Time
	gone      map[string]time.Time
	changed   chan struct{}
}

func newRecorder() *recorder {
	return &recorder{scheduled: map[string]time.Time{}, running: map[string]time.Time{}, ready: map[string]time.Time{}, gone: map[string]time.Time{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) observe(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.scheduled[pod.Name]; !seen && pod.Spec.NodeName != "" {
		r.scheduled[pod.Name] = now
	}
	if _, seen := r.running[pod.Name]; !seen && pod.Status.Phase == v1.PodRunning {
		r.running[pod.Name] = now
	}
	if _, seen := r.ready[pod.Name]; !seen && podReady(pod) {
		r.ready[pod.Name] = now
	}
	r.notify()
}

func (r *recorder) deleted(obj any) {
	name := ""
	switch o := obj.(type) {
	case *v1.Pod:
		name = o.Name
	case cache.DeletedFinalStateUnknown:
		if p, ok := o.Obj.(*v1.Pod); ok {
			name = p.Name
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.gone[name]; !seen && name != "" {
		r.gone[name] = time.Now()
	}
	r.notify()
}

func (r *recorder) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

type step func(ctx context.Context, o options, client kubernetes.Interface, lister cache.Indexer, rec *recorder) error

// run starts a watch of the driver's pods in the namespace, waits for it
// to sync and runs s.
func run(o options, s step) error {
	if o.kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	// The pods are created at once: no client-side throttling.
	cfg.QPS, cfg.Burst = 1000, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	rec := newRecorder()
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(o.namespace),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = benchLabel }))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rec.observe,
		UpdateFunc: func(_, obj any) { rec.observe(obj) },
		DeleteFunc: rec.deleted,
	}); err != nil {
		return err
	}
	tSync := time.Now()
	factory.Start(ctx.Done())
	// Shutdown waits for the informers, which stop when ctx ends.
	defer func() {
		cancel()
		factory.Shutdown()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return errors.New("the pod watch did not sync")
	}
	fmt.Printf("watch_sync_s %.3f\n", time.Since(tSync).Seconds())
	return s(ctx, o, client, inf.GetIndexer(), rec)
}

func benchPod(o options, i int) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%03d", i), Labels: map[string]string{benchLabel: "podstartup"}},
		Spec: v1.PodSpec{
			NodeName: o.node,
			Containers: []v1.Container{{
				Name:            "sleep",
				Image:           o.image,
				ImagePullPolicy: v1.PullIfNotPresent,
				// Exits on SIGTERM at once, so deletion measures the
				// kubelet, not the grace period.
				Command: []string{"/bin/sh", "-c", `trap "exit 0" TERM; sleep 86400 & wait`},
			}},
			TerminationGracePeriodSeconds: ptr.To[int64](30),
		},
	}
}

func create(ctx context.Context, o options, client kubernetes.Interface, lister cache.Indexer, rec *recorder) error {
	if len(lister.List()) > 0 {
		return fmt.Errorf("namespace %s already has bench pods: run delete first", o.namespace)
	}
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.namespace}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", o.namespace, err)
	}
	// Wait for the namespace's default ServiceAccount: without it the
	// pods are refused, and that wait is not the kubelet's.
	for {
		if _, err := client.CoreV1().ServiceAccounts(o.namespace).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no default ServiceAccount in %s: %w", o.namespace, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	sent := make([]time.Time, o.pods)
	errs := make([]error, o.pods)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range o.pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sent[i] = time.Now()
			_, errs[i] = client.CoreV1().Pods(o.namespace).Create(ctx, benchPod(o, i), metav1.CreateOptions{})
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	tCreated := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("create pods: %w", err)
	}
	for {
		rec.mu.Lock()
		n := len(rec.ready)
		rec.mu.Unlock()
		if n >= o.pods {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d pods Ready before the timeout", n, o.pods)
		case <-rec.changed:
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var toScheduled, toRunning, toReady []time.Duration
	var last time.Time
	for i := range o.pods {
		name := benchPod(o, i).Name
		// Each pod's times, to line up with the node's logs (stderr:
		// the figures on stdout stay one per line).
		fmt.Fprintf(os.Stderr, "pod %s sent %s scheduled_ms %d running_ms %d ready_ms %d\n", name,
			sent[i].UTC().Format("15:04:05.000000"), rec.scheduled[name].Sub(sent[i]).Milliseconds(),
			rec.running[name].Sub(sent[i]).Milliseconds(), rec.ready[name].Sub(sent[i]).Milliseconds())
		toScheduled = append(toScheduled, rec.scheduled[name].Sub(sent[i]))
		toRunning = append(toRunning, rec.running[name].Sub(sent[i]))
		toReady = append(toReady, rec.ready[name].Sub(sent[i]))
		if rec.ready[name].After(last) {
			last = rec.ready[name]
		}
	}
	fmt.Printf("pods %d\n", o.pods)
	fmt.Printf("creates_returned_s %.3f\n", tCreated.Seconds())
	printQuantiles("create_to_scheduled", toScheduled)
	printQuantiles("create_to_running", toRunning)
	printQuantiles("create_to_ready", toReady)
	fmt.Printf("all_ready_s %.3f\n", last.Sub(t0).Seconds())
	return nil
}

func remove(ctx context.Context, o options, client kubernetes.Interface, lister cache.Indexer, rec *recorder) error {
	pods := lister.List()
	if len(pods) == 0 {
		return fmt.Errorf("no bench pods in namespace %s", o.namespace)
	}
	t0 := time.Now()
	if err := client.CoreV1().Pods(o.namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: benchLabel}); err != nil {
		return fmt.Errorf("delete pods: %w", err)
	}
	for len(lister.List()) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d pods still there after the timeout", len(lister.List()), len(pods))
		case <-rec.changed:
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var toGone []time.Duration
	for _, t := range rec.gone {
		toGone = append(toGone, t.Sub(t0))
	}
	fmt.Printf("pods_deleted %d\n", len(pods))
	printQuantiles("delete_to_gone", toGone)
	fmt.Printf("all_gone_s %.3f\n", time.Since(t0).Seconds())
	return nil
}

// printQuantiles prints p50, p99 and max in ms, by nearest rank (with 30
// samples p99 is the slowest one).
func printQuantiles(name string, d []time.Duration) {
	slices.Sort(d)
	q := func(p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		i := int(math.Ceil(p*float64(len(d)))) - 1
		return float64(d[max(i, 0)].Microseconds()) / 1000
	}
	fmt.Printf("%s_p50_ms %.1f\n%s_p99_ms %.1f\n%s_max_ms %.1f\n", name, q(0.5), name, q(0.99), name, q(1))
}
