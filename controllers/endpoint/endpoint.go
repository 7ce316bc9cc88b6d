package endpoint

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/internal/endpointutil"
)

const (
	// MaxCapacity is the most addresses an Endpoints object holds; more are
	// truncated and the object annotated OverCapacityAnnotation=truncated.
	MaxCapacity = 1000
	// OverCapacityAnnotation marks truncated Endpoints.
	OverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity"
	// TruncatedValue is OverCapacityAnnotation's value.
	TruncatedValue = "truncated"
	// leaderAnnotation marks Endpoints used as leader-election locks.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Descriptor is the endpoints controller.
var Descriptor = controllers.Descriptor{Name: "endpoint", Setup: Setup}

// Setup registers the endpoints controller.
func Setup(ctx context.Context, c controllers.Context) error {
	r := &Reconciler{
		Client:   c.Manager.GetClient(),
		Recorder: c.Manager.GetEventRecorderFor("endpoint-controller"),
		triggers: endpointutil.NewTriggerTimeTracker(),
	}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("endpoint").
		For(&corev1.Service{}).
		Watches(&corev1.Pod{}, endpointutil.PodToServices(c.Manager.GetClient())).
		// As upstream, only deletions of Endpoints trigger a sync (to
		// restore them): Endpoints created ahead of their Service are not
		// this controller's to remove.
		Watches(&corev1.Endpoints{}, handler.Funcs{
			DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)})
			},
		}).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// Reconciler syncs one Service's Endpoints.
type Reconciler struct {
	Client   client.Client
	Recorder record.EventRecorder
	triggers *endpointutil.TriggerTimeTracker
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	var svc corev1.Service
	if err := r.Client.Get(ctx, req.NamespacedName, &svc); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("getting service %s: %w", req, err)
		}
		// The Service is gone: its Endpoints go too, unless someone else
		// manages them (a selector-less Service's Endpoints stay with it).
		r.triggers.Delete(req.NamespacedName)
		var ep corev1.Endpoints
		if err := r.Client.Get(ctx, req.NamespacedName, &ep); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		if _, ok := ep.Annotations[leaderAnnotation]; ok {
			// A leader-election lock, not a Service's endpoints.
			return ctrl.Result{}, nil
		}
		err := r.Client.Delete(ctx, &ep, client.Preconditions{UID: &ep.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return ctrl.Result{}, fmt.Errorf("deleting endpoints %s: %w", req, err)
		}
		return ctrl.Result{}, nil
	}
	if svc.Spec.Selector == nil {
		// Services without a selector have user-managed Endpoints.
		return ctrl.Result{}, nil
	}
	pods, err := endpointutil.SelectedPods(ctx, r.Client, &svc)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("listing pods of service %s: %w", req, err)
	}
	triggerTime, commit := r.triggers.Compute(&svc, pods)
	subsets, truncated := Subsets(&svc, pods, log.V(4).Info)

	var current corev1.Endpoints
	exists := true
	if err := r.Client.Get(ctx, req.NamespacedName, &current); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("getting endpoints %s: %w", req, err)
		}
		exists = false
		current = corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	}

	wantLabels := desiredLabels(&svc)
	capacityOK := (current.Annotations[OverCapacityAnnotation] == TruncatedValue) == truncated
	if exists && apiequality.Semantic.DeepEqual(current.Subsets, subsets) &&
		apiequality.Semantic.DeepEqual(labelsOrEmpty(current.Labels), wantLabels) && capacityOK {
		commit()
		return ctrl.Result{}, nil
	}

	next := current.DeepCopy()
	next.Subsets = subsets
	next.Labels = wantLabels
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if !triggerTime.IsZero() {
		next.Annotations[corev1.EndpointsLastChangeTriggerTime] = triggerTime.UTC().Format(time.RFC3339Nano)
	} else {
		delete(next.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
	if truncated {
		next.Annotations[OverCapacityAnnotation] = TruncatedValue
	} else {
		delete(next.Annotations, OverCapacityAnnotation)
	}
	if len(next.Annotations) == 0 {
		next.Annotations = nil
	}

	if exists {
		err = r.Client.Update(ctx, next)
	} else {
		err = r.Client.Create(ctx, next)
	}
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			// The cache is behind; retry once it caught up.
			return ctrl.Result{RequeueAfter: cacheRetry}, nil
		}
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return ctrl.Result{}, nil
		}
		r.Recorder.Eventf(&svc, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %s/%s: %v", svc.Namespace, svc.Name, err)
		return ctrl.Result{}, fmt.Errorf("writing endpoints %s: %w", req, err)
	}
	commit()
	return ctrl.Result{}, nil
}

func labelsOrEmpty(l map[string]string) map[string]string {
	if l == nil {
		return map[string]string{}
	}
	return l
}

// desiredLabels are the Service's labels plus the headless marker.
func desiredLabels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		out[k] = v
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[corev1.IsHeadlessService] = ""
	} else {
		delete(out, corev1.IsHeadlessService)
	}
	return out
}

// Subsets computes svc's Endpoints subsets from the pods its selector
// matches, repacked (addresses grouped by identical port sets, sorted) and
// truncated to MaxCapacity addresses; truncated says whether any were cut.
// logf receives the reasons pods were skipped.
func Subsets(svc *corev1.Service, pods []*corev1.Pod, logf func(msg string, kv ...any)) (subsets []corev1.EndpointSubset, truncated bool) {
	tolerateUnready := svc.Spec.PublishNotReadyAddresses
	for _, pod := range pods {
		if !endpointutil.ShouldPodBeInEndpoints(pod, tolerateUnready) {
			continue
		}
		addr, err := podAddress(pod, svc)
		if err != nil {
			logf("Skipping pod", "pod", types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, "reason", err.Error())
			continue
		}
		ready := tolerateUnready || endpointutil.IsPodReady(pod)
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				subsets = appendSubset(subsets, *addr, nil, ready)
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, err := endpointutil.FindPort(pod, sp)
			if err != nil {
				logf("Failed to find port for service", "service", types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}, "port", sp.Name, "err", err.Error())
				continue
			}
			ep := corev1.EndpointPort{Name: sp.Name, Port: int32(port), Protocol: sp.Protocol, AppProtocol: sp.AppProtocol}
			subsets = appendSubset(subsets, *addr, &ep, ready)
		}
	}
	subsets = Repack(subsets)
	return Truncate(subsets, MaxCapacity)
}

func appendSubset(subsets []corev1.EndpointSubset, addr corev1.EndpointAddress, port *corev1.EndpointPort, ready bool) []corev1.EndpointSubset {
	s := corev1.EndpointSubset{}
	if ready {
		s.Addresses = []corev1.EndpointAddress{addr}
	} else {
		s.NotReadyAddresses = []corev1.EndpointAddress{addr}
	}
	if port != nil {
		s.Ports = []corev1.EndpointPort{*port}
	}
	return append(subsets, s)
}

// podAddress is pod's address in svc's primary IP family.
func podAddress(pod *corev1.Pod, svc *corev1.Service) (*corev1.EndpointAddress, error) {
	var ip string
	switch {
	case len(svc.Spec.IPFamilies) > 0:
		ip = endpointutil.PodIPOfFamily(pod, svc.Spec.IPFamilies[0])
	case svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone:
		fam := corev1.IPv4Protocol
		if endpointutil.IsIPv6(svc.Spec.ClusterIP) {
			fam = corev1.IPv6Protocol
		}
		ip = endpointutil.PodIPOfFamily(pod, fam)
	default:
		if ips := endpointutil.PodIPs(pod); len(ips) > 0 {
			ip = ips[0]
		}
	}
	if ip == "" {
		return nil, fmt.Errorf("failed to find a matching endpoint for service %v", svc.Name)
	}
	addr := &corev1.EndpointAddress{
		IP: ip,
		TargetRef: &corev1.ObjectReference{
			Kind:      "Pod",
			Namespace: pod.Namespace,
			Name:      pod.Name,
			UID:       pod.UID,
		},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		addr.NodeName = &n
	}
	if endpointutil.ShouldSetHostname(pod, svc) {
		addr.Hostname = pod.Spec.Hostname
	}
	return addr, nil
}

// Repack merges subsets with identical port sets, dedupes addresses (an
// address ready in any subset of a port set is ready), and sorts addresses,
// ports and subsets so equal content compares equal.
func Repack(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	type group struct {
		ports    []corev1.EndpointPort
		ready    map[string]corev1.EndpointAddress
		notReady map[string]corev1.EndpointAddress
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range subsets {
		ports := append([]corev1.EndpointPort(nil), s.Ports...)
		sort.Slice(ports, func(i, j int) bool { return portKey(ports[i]) < portKey(ports[j]) })
		keys := make([]string, len(ports))
		for i, p := range ports {
			keys[i] = portKey(p)
		}
		k := strings.Join(keys, ";")
		g, ok := groups[k]
		if !ok {
			g = &group{ports: ports, ready: map[string]corev1.EndpointAddress{}, notReady: map[string]corev1.EndpointAddress{}}
			groups[k] = g
			order = append(order, k)
		}
		for _, a := range s.Addresses {
			g.ready[addrKey(a)] = a
		}
		for _, a := range s.NotReadyAddresses {
			g.notReady[addrKey(a)] = a
		}
	}
	var out []corev1.EndpointSubset
	for _, k := range order {
		g := groups[k]
		for ak := range g.ready {
			delete(g.notReady, ak)
		}
		s := corev1.EndpointSubset{Ports: g.ports, Addresses: sortedAddrs(g.ready), NotReadyAddresses: sortedAddrs(g.notReady)}
		if len(s.Ports) == 0 {
			s.Ports = nil
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return subsetKey(out[i]) < subsetKey(out[j]) })
	return out
}

func portKey(p corev1.EndpointPort) string {
	app := ""
	if p.AppProtocol != nil {
		app = *p.AppProtocol
	}
	return fmt.Sprintf("%s/%d/%s/%s", p.Name, p.Port, p.Protocol, app)
}

func addrKey(a corev1.EndpointAddress) string {
	uid := ""
	if a.TargetRef != nil {
		uid = string(a.TargetRef.UID)
	}
	return a.IP + "/" + uid
}

func sortedAddrs(m map[string]corev1.EndpointAddress) []corev1.EndpointAddress {
	if len(m) == 0 {
		return nil
	}
	out := make([]corev1.EndpointAddress, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return addrKey(out[i]) < addrKey(out[j]) })
	return out
}

func subsetKey(s corev1.EndpointSubset) string {
	keys := make([]string, len(s.Ports))
	for i, p := range s.Ports {
		keys[i] = portKey(p)
	}
	return strings.Join(keys, ";")
}

// Truncate keeps at most max addresses over all subsets. Ready addresses
// are kept first: when they alone exceed max, every not-ready address goes
// and the ready ones are cut proportionally across subsets; otherwise all
// ready ones stay and the not-ready ones are cut proportionally.
func Truncate(subsets []corev1.EndpointSubset, max int) ([]corev1.EndpointSubset, bool) {
	ready, notReady := 0, 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= max {
		return subsets, false
	}
	out := make([]corev1.EndpointSubset, len(subsets))
	copy(out, subsets)
	if ready >= max {
		lens := make([]int, len(out))
		for i := range out {
			out[i].NotReadyAddresses = nil
			lens[i] = len(out[i].Addresses)
		}
		keep := proportional(lens, ready, max)
		for i := range out {
			out[i].Addresses = out[i].Addresses[:keep[i]]
		}
	} else {
		lens := make([]int, len(out))
		for i := range out {
			lens[i] = len(out[i].NotReadyAddresses)
		}
		keep := proportional(lens, notReady, max-ready)
		for i := range out {
			out[i].NotReadyAddresses = out[i].NotReadyAddresses[:keep[i]]
			if len(out[i].NotReadyAddresses) == 0 {
				out[i].NotReadyAddresses = nil
			}
		}
	}
	return out, true
}

// proportional splits budget among groups of the given sizes (summing to
// total) in proportion to their size, never giving a group more than it has.
func proportional(lens []int, total, budget int) []int {
	keep := make([]int, len(lens))
	left := budget
	for i, n := range lens {
		k := n * budget / total
		if k > n {
			k = n
		}
		keep[i] = k
		left -= k
	}
	for i := 0; left > 0 && i < len(lens); i++ {
		extra := lens[i] - keep[i]
		if extra > left {
			extra = left
		}
		keep[i] += extra
		left -= extra
	}
	return keep
}

// cacheRetry is when a sync that lost a race with the cache (a conflict,
// or an object the cache has not seen yet) is retried.
// Endpoints are watched for deletions only, so the retry is quick.
const cacheRetry = 100 * time.Millisecond
