package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	// runLabel carries the run's id on every object it creates, so that
	// lists, watches and the final DeleteCollection see only this run's.
	runLabel = "loadgen.skiff.dev/run"
	// phaseLabel separates the objects of the create/get/list phases from
	// those of the watch burst.
	phaseLabel = "loadgen.skiff.dev/phase"

	// Bounds on the flags, so that every loop ends.
	maxWorkers  = 1024
	maxObjects  = 100000
	maxLists    = 1000
	maxDuration = 30 * time.Minute

	cleanupTimeout = 5 * time.Minute
)

// resource is the part of a typed client the load needs. Each --kind has
// one; adding pods means adding a constructor to kinds.
type resource interface {
	create(ctx context.Context, name string, labels map[string]string) error
	get(ctx context.Context, name string) error
	list(ctx context.Context, opts metav1.ListOptions) (items int, resourceVersion string, err error)
	watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	deleteCollection(ctx context.Context, selector string) error
}

// kinds maps --kind values to the resource that drives them.
var kinds = map[string]func(client kubernetes.Interface, namespace string) resource{
	"configmaps": func(client kubernetes.Interface, namespace string) resource {
		return configMaps{client.CoreV1().ConfigMaps(namespace)}
	},
	"pods": func(client kubernetes.Interface, namespace string) resource {
		return &pods{client: client.CoreV1().Pods(namespace), sa: client.CoreV1().ServiceAccounts(namespace)}
	},
}

// configMaps creates small ConfigMaps: one key holding a 128-byte value.
type configMaps struct {
	client corev1client.ConfigMapInterface
}

var configMapPayload = strings.Repeat("x", 128)

func (c configMaps) create(ctx context.Context, name string, labels map[string]string) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Data:       map[string]string{"payload": configMapPayload},
	}
	_, err := c.client.Create(ctx, cm, metav1.CreateOptions{})
	return err
}

func (c configMaps) get(ctx context.Context, name string) error {
	_, err := c.client.Get(ctx, name, metav1.GetOptions{})
	return err
}

func (c configMaps) list(ctx context.Context, opts metav1.ListOptions) (int, string, error) {
	l, err := c.client.List(ctx, opts)
	if err != nil {
		return 0, "", err
	}
	return len(l.Items), l.ResourceVersion, nil
}

func (c configMaps) watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return c.client.Watch(ctx, opts)
}

// pods creates unscheduled single-container pods, the shape a Deployment
// stamps out (about 1.5 KB each once defaulted). The namespace gets the
// default ServiceAccount the ServiceAccount admission plugin requires.
type pods struct {
	client corev1client.PodInterface
	sa     corev1client.ServiceAccountInterface
	once   sync.Once
	saErr  error
}

func (p *pods) create(ctx context.Context, name string, labels map[string]string) error {
	p.once.Do(func() {
		_, err := p.sa.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			p.saErr = fmt.Errorf("create the default service account: %w", err)
		}
	})
	if p.saErr != nil {
		return p.saErr
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example/app:1.0",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			Env:   []corev1.EnvVar{{Name: "MODE", Value: "bench"}},
		}}},
	}
	_, err := p.client.Create(ctx, pod, metav1.CreateOptions{})
	return err
}

func (p *pods) get(ctx context.Context, name string) error {
	_, err := p.client.Get(ctx, name, metav1.GetOptions{})
	return err
}

func (p *pods) list(ctx context.Context, opts metav1.ListOptions) (int, string, error) {
	l, err := p.client.List(ctx, opts)
	if err != nil {
		return 0, "", err
	}
	return len(l.Items), l.ResourceVersion, nil
}

func (p *pods) watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return p.client.Watch(ctx, opts)
}

// deleteCollection deletes the run's pods one by one from 16 workers: a
// server-side DeleteCollection of 10,000 pods takes longer than one request
// may (kube-apiserver deletes a collection with one worker by default).
func (p *pods) deleteCollection(ctx context.Context, selector string) error {
	list, err := p.client.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	names := make(chan string)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				if err := p.client.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					select {
					case errs <- fmt.Errorf("delete pod %s: %w", name, err):
					default:
					}
				}
			}
		}()
	}
	for i := range list.Items {
		names <- list.Items[i].Name
	}
	close(names)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func (c configMaps) deleteCollection(ctx context.Context, selector string) error {
	return c.client.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector})
}

// options are the command's flags.
type options struct {
	kubeconfig string
	namespace  string
	kind       string
	workers    int
	objects    int
	lists      int
	duration   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to the kubeconfig of the server under load (required; the server must be on a loopback address).")
	flag.StringVar(&o.namespace, "namespace", "skiff-loadgen", "Namespace to create objects in; created if missing and left in place (its objects are deleted at the end).")
	flag.StringVar(&o.kind, "kind", "configmaps", "Kind of object to create: "+strings.Join(kindNames(), ", ")+".")
	flag.IntVar(&o.workers, "workers", 16, fmt.Sprintf("Concurrent workers for creates and gets (1-%d).", maxWorkers))
	flag.IntVar(&o.objects, "objects", 1000, fmt.Sprintf("Objects created by the create phase, and again by the watch burst (1-%d).", maxObjects))
	flag.IntVar(&o.lists, "lists", 20, fmt.Sprintf("Full lists timed for the list latency (1-%d).", maxLists))
	flag.DurationVar(&o.duration, "duration", 2*time.Minute, fmt.Sprintf("Upper bound on the whole run, cleanup excepted (at most %s).", maxDuration))
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func kindNames() []string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func (o options) validate() error {
	var errs []error
	if o.kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig is required"))
	}
	if o.namespace == "" {
		errs = append(errs, errors.New("--namespace must not be empty"))
	}
	if _, ok := kinds[o.kind]; !ok {
		errs = append(errs, fmt.Errorf("--kind %q is not supported; use one of: %s", o.kind, strings.Join(kindNames(), ", ")))
	}
	if o.workers < 1 || o.workers > maxWorkers {
		errs = append(errs, fmt.Errorf("--workers must be between 1 and %d, got %d", maxWorkers, o.workers))
	}
	if o.objects < 1 || o.objects > maxObjects {
		errs = append(errs, fmt.Errorf("--objects must be between 1 and %d, got %d", maxObjects, o.objects))
	}
	if o.lists < 1 || o.lists > maxLists {
		errs = append(errs, fmt.Errorf("--lists must be between 1 and %d, got %d", maxLists, o.lists))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		errs = append(errs, fmt.Errorf("--duration must be positive and at most %s, got %s", maxDuration, o.duration))
	}
	return errors.Join(errs...)
}

// restConfig loads the kubeconfig, checks the server is local and raises
// the client's rate limits so that the client never throttles the load.
func restConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("parse server URL %q: %w", cfg.Host, err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("server %s is not on a loopback address; loadgen only drives local servers", cfg.Host)
	}
	cfg.QPS = 5000
	cfg.Burst = 10000
	cfg.UserAgent = "skiff-loadgen"
	cfg.ContentType = runtimeProtobuf
	cfg.AcceptContentTypes = runtimeProtobuf + ",application/json"
	return cfg, nil
}

// runtimeProtobuf is the wire format controllers use.
const runtimeProtobuf = "application/vnd.kubernetes.protobuf"

func run(o options, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()

	if err := ensureNamespace(ctx, client, o.namespace); err != nil {
		return err
	}
	res := kinds[o.kind](client, o.namespace)
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	fmt.Fprintf(out, "loadgen_kind %s\nloadgen_workers %d\nloadgen_objects %d\nloadgen_run %s\n", o.kind, o.workers, o.objects, runID)

	loadErr := load(ctx, res, o, runID, out)
	// Clean up even when the run failed or ran out of time, on a context
	// of its own.
	cleanupCtx, cleanupCancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cleanupCancel()
	cleanupErr := res.deleteCollection(cleanupCtx, runLabel+"="+runID)
	if cleanupErr != nil {
		cleanupErr = fmt.Errorf("delete the run's %s in namespace %s: %w", o.kind, o.namespace, cleanupErr)
	}
	return errors.Join(loadErr, cleanupErr)
}

func ensureNamespace(ctx context.Context, client kubernetes.Interface, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// load runs the phases in order, printing each figure as soon as it is
// known.
func load(ctx context.Context, res resource, o options, runID string, out io.Writer) error {
	labels := map[string]string{runLabel: runID, phaseLabel: "load"}
	name := func(i int) string { return "load-" + strconv.Itoa(i) }

	elapsed, err := parallel(ctx, o.workers, o.objects, func(ctx context.Context, i int) error {
		return res.create(ctx, name(i), labels)
	})
	if err != nil {
		return fmt.Errorf("create phase: %w", err)
	}
	emitRate(out, "create_throughput_per_s", o.objects, elapsed)

	elapsed, err = parallel(ctx, o.workers, o.objects, func(ctx context.Context, i int) error {
		return res.get(ctx, name(i))
	})
	if err != nil {
		return fmt.Errorf("get phase: %w", err)
	}
	emitRate(out, "get_throughput_per_s", o.objects, elapsed)

	latencies, err := timeLists(ctx, res, o, runLabel+"="+runID+","+phaseLabel+"=load")
	if err != nil {
		return fmt.Errorf("list phase: %w", err)
	}
	emitPercentiles(out, "list_latency", latencies)

	if err := watchBurst(ctx, res, o, runID, out); err != nil {
		return fmt.Errorf("watch phase: %w", err)
	}
	return nil
}

// timeLists times o.lists consecutive full lists of the create phase's
// objects, checking each returns all of them.
func timeLists(ctx context.Context, res resource, o options, selector string) ([]time.Duration, error) {
	latencies := make([]time.Duration, 0, o.lists)
	for range o.lists {
		start := time.Now()
		n, _, err := res.list(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, err
		}
		latencies = append(latencies, time.Since(start))
		if n != o.objects {
			return nil, fmt.Errorf("list returned %d objects, want %d", n, o.objects)
		}
	}
	return latencies, nil
}

// watchBurst opens a watch, then creates o.objects new objects with
// o.workers workers, and measures how fast their ADDED events arrive and how
// long after each create's response its event came. An event that beats
// its create's response counts as zero latency; how many did is printed as
// watch_events_before_ack.
func watchBurst(ctx context.Context, res resource, o options, runID string, out io.Writer) error {
	labels := map[string]string{runLabel: runID, phaseLabel: "watch"}
	selector := runLabel + "=" + runID + "," + phaseLabel + "=watch"
	const prefix = "watch-"

	_, rv, err := res.list(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("list before watching: %w", err)
	}
	w, err := res.watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: rv})
	if err != nil {
		return fmt.Errorf("open watch: %w", err)
	}
	defer w.Stop()

	acked := make([]time.Time, o.objects)    // written by the create workers, one index each
	received := make([]time.Time, o.objects) // written by the watch reader only
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- readAdded(ctx, w, prefix, received)
	}()

	start := time.Now()
	_, err = parallel(ctx, o.workers, o.objects, func(ctx context.Context, i int) error {
		if err := res.create(ctx, prefix+strconv.Itoa(i), labels); err != nil {
			return err
		}
		acked[i] = time.Now()
		return nil
	})
	if err != nil {
		w.Stop()
		<-watchDone
		return fmt.Errorf("create burst: %w", err)
	}
	if err := <-watchDone; err != nil {
		return err
	}

	last := slices.MaxFunc(received, func(a, b time.Time) int { return a.Compare(b) })
	latencies := make([]time.Duration, o.objects)
	early := 0
	for i := range latencies {
		if received[i].Before(acked[i]) {
			early++
		}
		latencies[i] = max(0, received[i].Sub(acked[i]))
	}
	fmt.Fprintf(out, "watch_events %d\nwatch_events_before_ack %d\n", o.objects, early)
	emitRate(out, "watch_event_throughput_per_s", o.objects, last.Sub(start))
	emitPercentiles(out, "watch_latency", latencies)
	return nil
}

// readAdded records when the ADDED event of each object named prefix+index
// arrives, until every index has one.
func readAdded(ctx context.Context, w watch.Interface, prefix string, received []time.Time) error {
	pending := len(received)
	for pending > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("received %d of %d events: %w", len(received)-pending, len(received), ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch closed after %d of %d events", len(received)-pending, len(received))
			}
			now := time.Now()
			switch ev.Type {
			case watch.Added:
			case watch.Error:
				return fmt.Errorf("watch error: %w", apierrors.FromObject(ev.Object))
			default:
				continue
			}
			obj, err := meta.Accessor(ev.Object)
			if err != nil {
				return fmt.Errorf("watch event object: %w", err)
			}
			i, err := strconv.Atoi(strings.TrimPrefix(obj.GetName(), prefix))
			if err != nil || i < 0 || i >= len(received) || !received[i].IsZero() {
				return fmt.Errorf("unexpected ADDED event for %q", obj.GetName())
			}
			received[i] = now
			pending--
		}
	}
	return nil
}

// parallel calls do for 0..n-1 from workers goroutines and returns the wall
// time taken. The first error stops the remaining calls and is returned.
func parallel(ctx context.Context, workers, n int, do func(ctx context.Context, i int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := do(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return time.Since(start), context.Cause(ctx)
}

func emitRate(out io.Writer, name string, count int, elapsed time.Duration) {
	fmt.Fprintf(out, "%s %.1f\n", name, float64(count)/elapsed.Seconds())
}

// emitPercentiles prints name_p50_ms and name_p99_ms (nearest rank).
func emitPercentiles(out io.Writer, name string, samples []time.Duration) {
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	for _, p := range []float64{50, 99} {
		rank := max(1, int(math.Ceil(p/100*float64(len(sorted)))))
		ms := float64(sorted[rank-1]) / float64(time.Millisecond)
		fmt.Fprintf(out, "%s_p%.0f_ms %.2f\n", name, p, ms)
	}
}
