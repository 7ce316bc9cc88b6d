package nodestatus

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	goruntime "runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/component-helpers/apimachinery/lease"
	nodeutil "k8s.io/component-helpers/node/util"
	"k8s.io/klog/v2"
)

const (
	// statusUpdateRetries is how many times one status sync tries to patch
	// before waiting for the next tick (upstream's nodeStatusUpdateRetry).
	statusUpdateRetries = 5
	// controllerManagedAttachAnnotation tells the attach/detach controller
	// that it, not the kubelet, attaches this node's volumes.
	controllerManagedAttachAnnotation = "volumes.kubernetes.io/controller-managed-attach-detach"
	// Beta OS and arch labels, still set by the kubelet alongside the GA ones.
	labelOSBeta   = "beta.kubernetes.io/os"
	labelArchBeta = "beta.kubernetes.io/arch"
)

// defaultLabels are the labels the kubelet owns: at registration an existing
// Node's values are overwritten with the kubelet's (upstream's
// updateDefaultLabels list).
var defaultLabels = []string{
	corev1.LabelHostname,
	corev1.LabelTopologyZone,
	corev1.LabelTopologyRegion,
	corev1.LabelFailureDomainBetaZone,
	corev1.LabelFailureDomainBetaRegion,
	corev1.LabelInstanceTypeStable,
	corev1.LabelInstanceType,
	corev1.LabelOSStable,
	corev1.LabelArchStable,
	corev1.LabelWindowsBuild,
	labelOSBeta,
	labelArchBeta,
}

// Reporter registers a node and keeps its status and Lease current.
type Reporter struct {
	cfg   Config
	lease lease.Controller

	// Host probes, replaceable in tests.
	readMachine   func(cgroupPath string) (*machine, error)
	validateIP    func(ip net.IP) error
	kernelVersion func() string
	osImage       func() string
	jitter        func() float64

	// addresses are the last computed status.addresses (Addresses).
	addresses atomic.Pointer[[]corev1.NodeAddress]

	// ready is whether the last computed status had Ready true.
	ready atomic.Bool

	mu         sync.Mutex
	registered bool
	// lastReport is when status was last patched; reportDelay shifts the
	// next unconditional report so that nodes that changed together do not
	// all report together (upstream's delayAfterNodeStatusChange).
	lastReport  time.Time
	reportDelay time.Duration

	// afterSync, when set, is told the outcome of every status sync (tests).
	afterSync func(patched bool, err error)
}

// New validates and defaults cfg and returns a Reporter; Run starts it.
func New(cfg Config) (*Reporter, error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	r := &Reporter{
		cfg:           cfg,
		readMachine:   readMachine,
		validateIP:    validateHostIP,
		kernelVersion: kernelVersion,
		osImage:       osImage,
		jitter:        rand.Float64,
	}
	return r, nil
}

// Run registers the node, then keeps its Lease renewed and its status
// current until ctx ends. It returns nil once ctx is done.
func (r *Reporter) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("node", klog.KRef("", r.cfg.NodeName))
	ctx = klog.NewContext(ctx, logger)

	// The lease controller retries creating the Lease until the Node exists,
	// since the Lease's owner reference needs the Node's UID.
	r.lease = lease.NewController(r.cfg.Clock, r.cfg.Client, r.cfg.NodeName, r.cfg.LeaseDurationSeconds,
		nil, r.cfg.LeaseRenewInterval, r.cfg.NodeName, corev1.NamespaceNodeLease, r.setLeaseOwner(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { r.lease.Run(ctx) })
	defer wg.Wait()

	ticker := r.cfg.Clock.NewTicker(r.cfg.StatusUpdateFrequency)
	defer ticker.Stop()
	if err := r.registerWithBackoff(ctx); err != nil {
		return nil
	}
	start := r.cfg.Clock.Now()
	for {
		patched, err := r.syncStatus(ctx)
		if err != nil {
			logger.Error(err, "Unable to update node status")
		}
		if r.afterSync != nil {
			r.afterSync(patched, err)
		}
		// Until the node is first Ready, status is synced every
		// fastStatusUpdate rather than every StatusUpdateFrequency (for
		// at most fastStatusWindow), as upstream's fastStatusUpdateOnce:
		// a node becomes Ready as soon as it is, not a period later.
		var fast <-chan time.Time
		if !r.isReady() && r.cfg.Clock.Since(start) < fastStatusWindow {
			fast = r.cfg.Clock.After(fastStatusUpdate)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		case <-fast:
		}
	}
}

// setLeaseOwner makes the Node own its Lease, so that deleting the Node
// deletes the Lease. Until the Node can be read the Lease is not created.
// Fast start-up status updates (upstream's nodeStatusUpdateFrequency
// stays the steady-state period).
const (
	fastStatusUpdate = 100 * time.Millisecond
	fastStatusWindow = 2 * time.Minute
)

func (r *Reporter) isReady() bool { return r.ready.Load() }

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (r *Reporter) setLeaseOwner(ctx context.Context) lease.ProcessLeaseFunc {
	return func(l *coordinationv1.Lease) error {
		if len(l.OwnerReferences) > 0 {
			return nil
		}
		node, err := r.cfg.Client.CoreV1().Nodes().Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			klog.FromContext(ctx).Error(err, "Failed to get node when trying to set owner ref to the node lease")
			return err
		}
		l.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: corev1.SchemeGroupVersion.Version,
			Kind:       "Node",
			Name:       r.cfg.NodeName,
			UID:        node.UID,
		}}
		return nil
	}
}

// registerWithBackoff tries to register until it succeeds or ctx ends,
// waiting 100ms doubling to 7s between attempts, as upstream.
func (r *Reporter) registerWithBackoff(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	step := 100 * time.Millisecond
	for {
		err := r.register(ctx)
		if err == nil {
			logger.Info("Successfully registered node")
			return nil
		}
		logger.Error(err, "Unable to register node with API server")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(step):
		}
		step = min(2*step, 7*time.Second)
	}
}

// initialNode is the Node the kubelet registers: its labels, annotations,
// taints and a full status.
func (r *Reporter) initialNode(ctx context.Context) *corev1.Node {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: r.cfg.NodeName,
			Labels: map[string]string{
				corev1.LabelHostname:   r.cfg.Hostname,
				corev1.LabelOSStable:   goruntime.GOOS,
				corev1.LabelArchStable: goruntime.GOARCH,
				labelOSBeta:            goruntime.GOOS,
				labelArchBeta:          goruntime.GOARCH,
			},
			Annotations: map[string]string{controllerManagedAttachAnnotation: "true"},
		},
	}
	for k, v := range r.cfg.Labels {
		if old, ok := node.Labels[k]; ok {
			klog.FromContext(ctx).Info("the node label will overwrite default setting", "labelKey", k, "labelValue", v, "default", old)
		}
		node.Labels[k] = v
	}
	if len(r.cfg.Taints) > 0 {
		node.Spec.Taints = append([]corev1.Taint(nil), r.cfg.Taints...)
	}
	r.setStatus(ctx, node)
	return node
}

// register creates the Node, or, if it already exists, brings the labels
// and resources the kubelet owns back to the kubelet's values.
func (r *Reporter) register(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.registered {
		return nil
	}
	logger := klog.FromContext(ctx)
	node := r.initialNode(ctx)
	logger.Info("Attempting to register node")
	nodes := r.cfg.Client.CoreV1().Nodes()
	_, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if err == nil {
		r.registered = true
		r.event(corev1.EventTypeNormal, "Starting", "Starting kubelet.")
		return nil
	}
	if !apierrors.IsAlreadyExists(err) && !apierrors.IsForbidden(err) {
		return fmt.Errorf("create node %s: %w", r.cfg.NodeName, err)
	}
	existing, err := nodes.Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get existing node %s: %w", r.cfg.NodeName, err)
	}
	logger.Info("Node was previously registered")
	desired := existing.DeepCopy()
	changed := reconcileAttachAnnotation(node, desired)
	changed = reconcileDefaultLabels(node, desired) || changed
	changed = reconcileResources(node, desired) || changed
	if changed {
		if _, err := r.patchNode(ctx, existing, desired); err != nil {
			return fmt.Errorf("reconcile existing node %s: %w", r.cfg.NodeName, err)
		}
	}
	r.registered = true
	return nil
}

func reconcileAttachAnnotation(initial, existing *corev1.Node) bool {
	want, set := initial.Annotations[controllerManagedAttachAnnotation]
	if existing.Annotations[controllerManagedAttachAnnotation] == want {
		return false
	}
	if !set {
		delete(existing.Annotations, controllerManagedAttachAnnotation)
		return true
	}
	if existing.Annotations == nil {
		existing.Annotations = map[string]string{}
	}
	existing.Annotations[controllerManagedAttachAnnotation] = want
	return true
}

// reconcileDefaultLabels overwrites the kubelet-owned labels the kubelet has
// a value for; labels it has no value for are left alone.
func reconcileDefaultLabels(initial, existing *corev1.Node) bool {
	changed := false
	if existing.Labels == nil {
		existing.Labels = map[string]string{}
	}
	for _, k := range defaultLabels {
		want, ok := initial.Labels[k]
		if !ok {
			continue
		}
		if existing.Labels[k] != want {
			existing.Labels[k] = want
			changed = true
		}
		if existing.Labels[k] == "" {
			delete(existing.Labels, k)
		}
	}
	return changed
}

// reconcileResources fills missing capacity/allocatable and brings the huge
// page resources to what the host has now.
func reconcileResources(initial, existing *corev1.Node) bool {
	changed := false
	if existing.Status.Capacity == nil {
		existing.Status.Capacity = initial.Status.Capacity.DeepCopy()
		changed = true
	}
	if existing.Status.Allocatable == nil {
		existing.Status.Allocatable = initial.Status.Allocatable.DeepCopy()
		changed = true
	}
	isHugePages := func(n corev1.ResourceName) bool {
		return len(n) > len(corev1.ResourceHugePagesPrefix) && string(n[:len(corev1.ResourceHugePagesPrefix)]) == corev1.ResourceHugePagesPrefix
	}
	for name, q := range initial.Status.Capacity {
		if !isHugePages(name) {
			continue
		}
		if old, ok := existing.Status.Capacity[name]; !ok || old.Cmp(q) != 0 {
			existing.Status.Capacity[name] = q.DeepCopy()
			changed = true
		}
		a := initial.Status.Allocatable[name]
		if old, ok := existing.Status.Allocatable[name]; !ok || old.Cmp(a) != 0 {
			existing.Status.Allocatable[name] = a.DeepCopy()
			changed = true
		}
	}
	for name := range existing.Status.Capacity {
		if _, ok := initial.Status.Capacity[name]; isHugePages(name) && !ok {
			delete(existing.Status.Capacity, name)
			delete(existing.Status.Allocatable, name)
			changed = true
		}
	}
	return changed
}

// syncStatus registers the node if needed and patches its status when it
// changed or the report interval has passed, retrying a few times. It says
// whether it patched.
func (r *Reporter) syncStatus(ctx context.Context) (bool, error) {
	if err := r.register(ctx); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var lastErr error
	for i := 0; i < statusUpdateRetries; i++ {
		patched, err := r.tryUpdateStatus(ctx)
		if err == nil {
			return patched, nil
		}
		klog.FromContext(ctx).Error(err, "Error updating node status, will retry")
		lastErr = err
	}
	return false, fmt.Errorf("update node status exceeds retry count: %w", lastErr)
}

func (r *Reporter) tryUpdateStatus(ctx context.Context) (bool, error) {
	original, err := r.cfg.Client.CoreV1().Nodes().Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("error getting node %q: %w", r.cfg.NodeName, err)
	}
	node := original.DeepCopy()
	labelsMissing := false
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	for k, v := range map[string]string{corev1.LabelOSStable: goruntime.GOOS, corev1.LabelArchStable: goruntime.GOARCH} {
		if node.Labels[k] != v {
			node.Labels[k] = v
			labelsMissing = true
		}
	}
	r.setStatus(ctx, node)
	r.ready.Store(nodeReady(node))
	changed := labelsMissing || statusChanged(&original.Status, &node.Status)
	now := r.cfg.Clock.Now()
	if !changed && now.Sub(r.lastReport) < r.cfg.StatusReportFrequency+r.reportDelay {
		return false, nil
	}
	if changed || r.lastReport.IsZero() {
		// Uniform in [-0.5, 0.5) of the report frequency.
		r.reportDelay = time.Duration(float64(r.cfg.StatusReportFrequency) * (r.jitter() - 0.5))
	} else {
		r.reportDelay = 0
	}
	if _, err := r.patchNode(ctx, original, node); err != nil {
		return false, err
	}
	r.lastReport = r.cfg.Clock.Now()
	return true, nil
}

// patchNode writes desired over original: metadata (labels, annotations)
// through the node itself and everything else through nodes/status.
func (r *Reporter) patchNode(ctx context.Context, original, desired *corev1.Node) (*corev1.Node, error) {
	nodes := r.cfg.Client.CoreV1().Nodes()
	current := original
	if !apiequality.Semantic.DeepEqual(original.Labels, desired.Labels) || !apiequality.Semantic.DeepEqual(original.Annotations, desired.Annotations) {
		patch, err := metadataPatch(original, desired)
		if err != nil {
			return nil, err
		}
		current, err = nodes.Patch(ctx, r.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			return nil, fmt.Errorf("patch labels and annotations of node %q: %w", r.cfg.NodeName, err)
		}
	}
	if apiequality.Semantic.DeepEqual(current.Status, desired.Status) {
		return current, nil
	}
	base := current.DeepCopy()
	want := desired.DeepCopy()
	want.ObjectMeta = base.ObjectMeta
	updated, _, err := nodeutil.PatchNodeStatus(r.cfg.Client.CoreV1(), types.NodeName(r.cfg.NodeName), base, want)
	if err != nil {
		return nil, err
	}
	return updated, nil
}

func metadataPatch(original, desired *corev1.Node) ([]byte, error) {
	meta := func(n *corev1.Node) ([]byte, error) {
		return json.Marshal(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: n.Labels, Annotations: n.Annotations}})
	}
	oldData, err := meta(original)
	if err != nil {
		return nil, err
	}
	newData, err := meta(desired)
	if err != nil {
		return nil, err
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(oldData, newData, corev1.Node{})
	if err != nil {
		return nil, fmt.Errorf("create metadata patch for node %q: %w", original.Name, err)
	}
	return patch, nil
}

// statusChanged compares two statuses ignoring the conditions' heartbeat
// times, which move on every sync.
func statusChanged(old, cur *corev1.NodeStatus) bool {
	if len(old.Conditions) != len(cur.Conditions) {
		return true
	}
	strip := func(cs []corev1.NodeCondition) []corev1.NodeCondition {
		out := make([]corev1.NodeCondition, len(cs))
		copy(out, cs)
		sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
		for i := range out {
			out[i].LastHeartbeatTime = metav1.Time{}
		}
		return out
	}
	if !apiequality.Semantic.DeepEqual(strip(old.Conditions), strip(cur.Conditions)) {
		return true
	}
	a, b := old.DeepCopy(), cur.DeepCopy()
	a.Conditions, b.Conditions = nil, nil
	return !apiequality.Semantic.DeepEqual(a, b)
}

// nodeRef is the reference node events are recorded against; upstream uses
// the node name as its UID.
func (r *Reporter) nodeRef() *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Node", Name: r.cfg.NodeName, UID: types.UID(r.cfg.NodeName)}
}

func (r *Reporter) event(eventType, reason, message string) {
	if r.cfg.Recorder != nil {
		r.cfg.Recorder.Event(r.nodeRef(), eventType, reason, message)
	}
}

// statusEvent records a condition transition as upstream words it.
func (r *Reporter) statusEvent(reason string) {
	r.event(corev1.EventTypeNormal, reason, fmt.Sprintf("Node %s status is now: %s", r.cfg.NodeName, reason))
}
