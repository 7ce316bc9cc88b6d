package scheduler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/controllers/scheduler/framework"
	"github.com/skiff-dev/skiff/controllers/scheduler/queue"
)

// Config configures a Scheduler. Zero values mean the defaults documented
// on each field.
type Config struct {
	// RESTConfig reaches the API server (required).
	RESTConfig *rest.Config
	// SchedulerName is the spec.schedulerName this scheduler serves
	// (default "default-scheduler"); pods naming another are left alone.
	SchedulerName string
	// LeaderElect runs scheduling only while this process holds the Lease
	// LeaderElectionNamespace/LeaderElectionID (default kube-system /
	// "skiff-scheduler").
	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	// LeaseDuration, RenewDeadline and RetryPeriod default to upstream's
	// 15s, 10s and 2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Identity is the leader election identity (default hostname_uuid).
	Identity string
	// PercentageOfNodesToScore bounds how many feasible nodes a cycle looks
	// for (0: upstream's adaptive default, 50% minus 1% per 125 nodes, at
	// least 5% or 100 nodes).
	PercentageOfNodesToScore int32
	// ScoringStrategy is NodeResourcesFit's (default LeastAllocated on cpu
	// and memory, weight 1 each).
	ScoringStrategy framework.ScoringStrategy
	// Weights of the score plugins (zero: upstream's defaults).
	Weights framework.Weights
	// PodInitialBackoff and PodMaxBackoff default to 1s and 10s.
	PodInitialBackoff, PodMaxBackoff time.Duration
	// DisablePreemption turns DefaultPreemption off.
	DisablePreemption bool
	// ClientQPS and ClientBurst rate-limit the scheduler's client (default
	// 5000 and 10000: binding at 1000+ pods/s takes two requests per pod).
	ClientQPS   float32
	ClientBurst int
	// BindConcurrency bounds the bindings in flight (default 256).
	BindConcurrency int
	// OnBound, if set, is called after each successful binding (for
	// benchmarks and tests).
	OnBound func(pod *v1.Pod, node string)
}

func (c *Config) defaults() error {
	if c.RESTConfig == nil {
		return errors.New("scheduler: RESTConfig is required")
	}
	if c.SchedulerName == "" {
		c.SchedulerName = v1.DefaultSchedulerName
	}
	if c.LeaderElectionNamespace == "" {
		c.LeaderElectionNamespace = metav1.NamespaceSystem
	}
	if c.LeaderElectionID == "" {
		c.LeaderElectionID = "skiff-scheduler"
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = 10 * time.Second
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = 2 * time.Second
	}
	if c.Identity == "" {
		host, _ := os.Hostname()
		c.Identity = host + "_" + string(uuid.NewUUID())
	}
	if c.ClientQPS == 0 {
		c.ClientQPS = 5000
	}
	if c.ClientBurst == 0 {
		c.ClientBurst = 10000
	}
	if c.BindConcurrency <= 0 {
		c.BindConcurrency = 256
	}
	return nil
}

// Scheduler is a running scheduler.
type Scheduler struct {
	cfg    Config
	client kubernetes.Interface

	factory   informers.SharedInformerFactory
	podLister corelisters.PodLister
	nsLister  corelisters.NamespaceLister
	pdbLister policylisters.PodDisruptionBudgetLister
	vols      *volumeListers
	synced    []cache.InformerSynced

	cache       *Cache
	queue       *queue.Queue
	algo        *framework.Scheduler
	snapshotter snapshotter

	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	bindSem     chan struct{}
	wg          sync.WaitGroup

	nomMu     sync.Mutex
	nominated map[string]map[types.UID]*framework.PodInfo
	nomNode   map[types.UID]string
}

// New builds a Scheduler; nothing runs until Start.
func New(cfg Config) (*Scheduler, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	rc := rest.CopyConfig(cfg.RESTConfig)
	rc.QPS, rc.Burst = cfg.ClientQPS, cfg.ClientBurst
	if rc.UserAgent == "" {
		rc.UserAgent = "skiff-scheduler"
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("scheduler: client: %w", err)
	}
	s := &Scheduler{
		cfg:    cfg,
		client: client,
		cache:  NewCache(),
		queue:  queue.New(queue.Options{InitialBackoff: cfg.PodInitialBackoff, MaxBackoff: cfg.PodMaxBackoff}),
		algo: framework.NewScheduler(cfg.PercentageOfNodesToScore, framework.ScoreConfig{
			Strategy: cfg.ScoringStrategy, Weights: cfg.Weights,
		}),
		bindSem:   make(chan struct{}, cfg.BindConcurrency),
		nominated: map[string]map[types.UID]*framework.PodInfo{},
		nomNode:   map[types.UID]string{},
	}
	s.algo.Nominated = s.nominatedPods
	s.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTransform(func(obj any) (any, error) {
			if m, ok := obj.(metav1.Object); ok {
				m.SetManagedFields(nil)
			}
			return obj, nil
		}))
	pods := s.factory.Core().V1().Pods()
	nodes := s.factory.Core().V1().Nodes()
	nss := s.factory.Core().V1().Namespaces()
	pvcs := s.factory.Core().V1().PersistentVolumeClaims()
	pvs := s.factory.Core().V1().PersistentVolumes()
	scs := s.factory.Storage().V1().StorageClasses()
	pdbs := s.factory.Policy().V1().PodDisruptionBudgets()
	s.podLister, s.nsLister, s.pdbLister = pods.Lister(), nss.Lister(), pdbs.Lister()
	s.vols = &volumeListers{pvc: pvcs.Lister(), pv: pvs.Lister(), sc: scs.Lister()}

	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{pods.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: s.onPodAdd, UpdateFunc: s.onPodUpdate, DeleteFunc: s.onPodDelete}},
		{nodes.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: s.onNodeAdd, UpdateFunc: s.onNodeUpdate, DeleteFunc: s.onNodeDelete}},
		{nss.Informer(), cache.ResourceEventHandlerFuncs{UpdateFunc: func(o, n any) { s.moveFor(framework.InterPodAffinityName) }}},
		{pvcs.Informer(), s.moveHandler(framework.VolumeBindingName)},
		{pvs.Informer(), s.moveHandler(framework.VolumeBindingName)},
		{scs.Informer(), s.moveHandler(framework.VolumeBindingName)},
		{pdbs.Informer(), cache.ResourceEventHandlerFuncs{}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("scheduler: add event handler: %w", err)
		}
		s.synced = append(s.synced, h.inf.HasSynced)
	}
	return s, nil
}

// Start runs the scheduler until ctx ends (with leader election, only while
// it leads; losing the lease ends Start with an error).
func (s *Scheduler) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("scheduler")
	ctx = klog.NewContext(ctx, log)
	s.broadcaster = record.NewBroadcaster(record.WithContext(ctx))
	s.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	defer s.broadcaster.Shutdown()
	s.recorder = s.broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: s.cfg.SchedulerName})

	s.factory.Start(ctx.Done())
	defer s.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("scheduler: informers did not sync")
	}
	log.Info("informers synced", "nodes", s.cache.NodeCount(), "schedulerName", s.cfg.SchedulerName)
	if !s.cfg.LeaderElect {
		s.run(ctx)
		return nil
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, s.cfg.LeaderElectionNamespace, s.cfg.LeaderElectionID,
		s.client.CoreV1(), s.client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: s.cfg.Identity})
	if err != nil {
		return fmt.Errorf("scheduler: leader election lock: %w", err)
	}
	var lost bool
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: s.cfg.LeaseDuration, RenewDeadline: s.cfg.RenewDeadline, RetryPeriod: s.cfg.RetryPeriod,
		ReleaseOnCancel: true, Name: s.cfg.LeaderElectionID,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("started leading", "identity", s.cfg.Identity)
				s.run(ctx)
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					lost = true
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("scheduler: leader elector: %w", err)
	}
	le.Run(ctx)
	if lost {
		return errors.New("scheduler: lost leader election")
	}
	return nil
}

func (s *Scheduler) run(ctx context.Context) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.queue.Run(qctx)
	// A new leader re-reads the pending pods (the queue is filled by the
	// informer either way).
	for s.scheduleOne(ctx) {
	}
	s.wg.Wait()
}

// Queue exposes the scheduling queue (for tests and metrics).
func (s *Scheduler) Queue() *queue.Queue { return s.queue }

func (s *Scheduler) responsible(pod *v1.Pod) bool {
	name := pod.Spec.SchedulerName
	if name == "" {
		name = v1.DefaultSchedulerName
	}
	return name == s.cfg.SchedulerName
}

func assigned(pod *v1.Pod) bool { return pod.Spec.NodeName != "" }

func terminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

func asPod(obj any) *v1.Pod {
	switch t := obj.(type) {
	case *v1.Pod:
		return t
	case cache.DeletedFinalStateUnknown:
		p, _ := t.Obj.(*v1.Pod)
		return p
	}
	return nil
}

func (s *Scheduler) onPodAdd(obj any) {
	pod := asPod(obj)
	if pod == nil {
		return
	}
	s.nominate(pod, pod.Status.NominatedNodeName)
	switch {
	case assigned(pod):
		if terminal(pod) {
			return
		}
		s.cache.AddOrUpdatePod(pod)
		s.moveFor(framework.InterPodAffinityName, framework.PodTopologySpreadName)
	case s.responsible(pod) && pod.DeletionTimestamp == nil:
		s.queue.Add(pod)
	}
}

func (s *Scheduler) onPodUpdate(oldObj, newObj any) {
	pod := asPod(newObj)
	if pod == nil {
		return
	}
	s.nominate(pod, pod.Status.NominatedNodeName)
	switch {
	case assigned(pod):
		s.queue.Delete(pod)
		if terminal(pod) {
			s.cache.RemovePod(pod)
			s.queue.MoveAllToActiveOrBackoff()
			return
		}
		s.cache.AddOrUpdatePod(pod)
		if old := asPod(oldObj); old != nil && !sameLabels(old.Labels, pod.Labels) {
			s.moveFor(framework.InterPodAffinityName, framework.PodTopologySpreadName)
		}
	case !s.responsible(pod):
		s.queue.Delete(pod)
	case pod.DeletionTimestamp != nil:
		s.queue.Delete(pod)
	case s.cache.IsAssumed(pod.UID):
	default:
		s.queue.Update(pod)
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	pod := asPod(obj)
	if pod == nil {
		return
	}
	s.queue.Delete(pod)
	s.nominate(pod, "")
	if assigned(pod) || s.cache.IsAssumed(pod.UID) {
		s.cache.RemovePod(pod)
		s.queue.MoveAllToActiveOrBackoff()
	}
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func (s *Scheduler) onNodeAdd(obj any) {
	if n, ok := obj.(*v1.Node); ok {
		s.cache.AddOrUpdateNode(n)
		s.queue.MoveAllToActiveOrBackoff()
	}
}

func (s *Scheduler) onNodeUpdate(oldObj, newObj any) {
	n, ok := newObj.(*v1.Node)
	if !ok {
		return
	}
	s.cache.AddOrUpdateNode(n)
	if o, ok := oldObj.(*v1.Node); ok && nodeSchedulingPropertiesChanged(o, n) {
		s.queue.MoveAllToActiveOrBackoff()
	}
}

func nodeSchedulingPropertiesChanged(o, n *v1.Node) bool {
	if o.Spec.Unschedulable != n.Spec.Unschedulable || !sameLabels(o.Labels, n.Labels) || len(o.Spec.Taints) != len(n.Spec.Taints) {
		return true
	}
	for i := range o.Spec.Taints {
		if !o.Spec.Taints[i].MatchTaint(&n.Spec.Taints[i]) || o.Spec.Taints[i].Value != n.Spec.Taints[i].Value {
			return true
		}
	}
	if len(o.Status.Allocatable) != len(n.Status.Allocatable) {
		return true
	}
	for k, q := range o.Status.Allocatable {
		if nq, ok := n.Status.Allocatable[k]; !ok || nq.Cmp(q) != 0 {
			return true
		}
	}
	return false
}

func (s *Scheduler) onNodeDelete(obj any) {
	var name string
	switch t := obj.(type) {
	case *v1.Node:
		name = t.Name
	case cache.DeletedFinalStateUnknown:
		if n, ok := t.Obj.(*v1.Node); ok {
			name = n.Name
		}
	}
	if name != "" {
		s.cache.RemoveNode(name)
	}
}

func (s *Scheduler) moveHandler(plugin string) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.moveFor(plugin) },
		UpdateFunc: func(any, any) { s.moveFor(plugin) },
	}
}

// moveFor moves unschedulable pods back on an event that may help the
// named plugins; it moves all of them, the simplest faithful reading of
// upstream's queueing hints.
func (s *Scheduler) moveFor(plugins ...string) {
	_, _, u := s.queue.Lengths()
	if u > 0 {
		s.queue.MoveAllToActiveOrBackoff()
	}
}

func (s *Scheduler) nsLabels(ns string) labels.Set {
	n, err := s.nsLister.Get(ns)
	if err != nil {
		return nil
	}
	return n.Labels
}

type volumeListers struct {
	pvc corelisters.PersistentVolumeClaimLister
	pv  corelisters.PersistentVolumeLister
	sc  storagelisters.StorageClassLister
}

func (v *volumeListers) PVC(ns, name string) (*v1.PersistentVolumeClaim, error) {
	return v.pvc.PersistentVolumeClaims(ns).Get(name)
}
func (v *volumeListers) PV(name string) (*v1.PersistentVolume, error) { return v.pv.Get(name) }
func (v *volumeListers) StorageClass(name string) (*storagev1.StorageClass, error) {
	return v.sc.Get(name)
}

// scheduleOne runs one scheduling cycle; false once the queue is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qp := s.queue.Pop(ctx)
	if qp == nil {
		return false
	}
	pod := qp.Pod
	log := klog.FromContext(ctx).WithValues("pod", klog.KObj(pod))
	if pod.DeletionTimestamp != nil || s.cache.IsAssumed(pod.UID) {
		s.queue.Done(pod.UID)
		return true
	}
	cycle := s.queue.SchedulingCycle()
	snap := s.cache.UpdateSnapshot(&s.snapshotter)
	cs := framework.PreFilter(framework.NewPodInfo(pod), snap, s.vols, s.nsLabels)
	res, err := s.algo.Schedule(cs, snap)
	if err != nil {
		var fitErr *framework.FitError
		nominated := ""
		if errors.As(err, &fitErr) {
			qp.UnschedulablePlugins = unschedulablePlugins(fitErr)
			if !s.cfg.DisablePreemption && len(snap.List) > 0 {
				nominated = s.preempt(ctx, cs, snap, fitErr)
			}
		}
		log.V(2).Info("unable to schedule pod", "err", err)
		s.handleFailure(ctx, qp, cycle, err, nominated)
		return true
	}
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = res.Node
	s.cache.AssumePod(assumed)
	s.nominate(pod, "")
	s.queue.Done(pod.UID)
	s.bindSem <- struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.bindSem }()
		s.bind(ctx, qp, assumed, cycle)
	}()
	return true
}

func unschedulablePlugins(f *framework.FitError) []string {
	seen := map[string]bool{}
	var out []string
	add := func(st *framework.Status) {
		if st != nil && !seen[st.Plugin] {
			seen[st.Plugin] = true
			out = append(out, st.Plugin)
		}
	}
	add(f.Diagnosis.PreFilterStatus)
	for _, st := range f.Diagnosis.NodeToStatus {
		add(st)
	}
	return out
}

func (s *Scheduler) bind(ctx context.Context, qp *queue.PodInfo, assumed *v1.Pod, cycle int64) {
	log := klog.FromContext(ctx).WithValues("pod", klog.KObj(assumed), "node", assumed.Spec.NodeName)
	b := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: assumed.Namespace, Name: assumed.Name, UID: assumed.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: assumed.Spec.NodeName},
	}
	err := s.client.CoreV1().Pods(assumed.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if err != nil {
		s.cache.ForgetPod(assumed)
		if apierrors.IsNotFound(err) || ctx.Err() != nil {
			return
		}
		log.Error(err, "binding failed")
		s.handleFailure(ctx, qp, cycle, fmt.Errorf("binding rejected: %w", err), "")
		return
	}
	log.V(2).Info("bound pod")
	s.recorder.Eventf(assumed, v1.EventTypeNormal, "Scheduled", "Successfully assigned %v/%v to %v", assumed.Namespace, assumed.Name, assumed.Spec.NodeName)
	if s.cfg.OnBound != nil {
		s.cfg.OnBound(assumed, assumed.Spec.NodeName)
	}
}

// handleFailure requeues the pod, records FailedScheduling and sets
// PodScheduled=False (and the nominated node) on its status.
func (s *Scheduler) handleFailure(ctx context.Context, qp *queue.PodInfo, cycle int64, err error, nominated string) {
	pod := qp.Pod
	cur, gerr := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	if gerr != nil || cur.UID != pod.UID || assigned(cur) {
		// Gone or bound by someone else meanwhile.
		s.queue.Done(pod.UID)
		return
	}
	var fitErr *framework.FitError
	isFit := errors.As(err, &fitErr)
	s.queue.AddUnschedulable(qp, cycle, !isFit)
	reason := v1.PodReasonUnschedulable
	if !isFit {
		reason = v1.PodReasonSchedulerError
	}
	msg := err.Error()
	s.recorder.Event(cur, v1.EventTypeWarning, "FailedScheduling", msg)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if uerr := s.updatePodStatus(ctx, cur, reason, msg, nominated); uerr != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(uerr, "updating pod status", "pod", klog.KObj(cur))
		}
	}()
}

func (s *Scheduler) updatePodStatus(ctx context.Context, pod *v1.Pod, reason, msg, nominated string) error {
	for attempt := 0; attempt < 5; attempt++ {
		p := pod.DeepCopy()
		changed := nominated != "" && p.Status.NominatedNodeName != nominated
		if nominated != "" {
			p.Status.NominatedNodeName = nominated
		}
		cond := v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: reason, Message: msg}
		found := false
		for i := range p.Status.Conditions {
			c := &p.Status.Conditions[i]
			if c.Type != v1.PodScheduled {
				continue
			}
			found = true
			if c.Status != cond.Status || c.Reason != cond.Reason || c.Message != cond.Message {
				if c.Status != cond.Status {
					c.LastTransitionTime = metav1.Now()
				}
				c.Status, c.Reason, c.Message = cond.Status, cond.Reason, cond.Message
				c.LastProbeTime = metav1.Time{}
				changed = true
			}
		}
		if !found {
			cond.LastTransitionTime = metav1.Now()
			p.Status.Conditions = append(p.Status.Conditions, cond)
			changed = true
		}
		if !changed {
			return nil
		}
		_, err := s.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("update status of %s/%s: %w", p.Namespace, p.Name, err)
		}
		pod, err = s.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("get %s/%s: %w", p.Namespace, p.Name, err)
		}
		if assigned(pod) {
			return nil
		}
	}
	return fmt.Errorf("update status of %s/%s: too many conflicts", pod.Namespace, pod.Name)
}

// CachedNodeCount is how many nodes the scheduler currently knows.
func (s *Scheduler) CachedNodeCount() int { return s.cache.NodeCount() }

// CachedNode is the scheduler's copy of a node (nil if unknown).
func (s *Scheduler) CachedNode(name string) *v1.Node { return s.cache.Node(name) }

// nominate records (node != "") or clears the node a pending pod is
// nominated to; assigned and deleted pods are never nominated.
func (s *Scheduler) nominate(pod *v1.Pod, node string) {
	if assigned(pod) || pod.DeletionTimestamp != nil {
		node = ""
	}
	s.nomMu.Lock()
	defer s.nomMu.Unlock()
	old, had := s.nomNode[pod.UID]
	if had && old == node {
		if node != "" {
			s.nominated[node][pod.UID] = framework.NewPodInfo(pod)
		}
		return
	}
	if had {
		delete(s.nominated[old], pod.UID)
		if len(s.nominated[old]) == 0 {
			delete(s.nominated, old)
		}
		delete(s.nomNode, pod.UID)
	}
	if node == "" {
		return
	}
	if s.nominated[node] == nil {
		s.nominated[node] = map[types.UID]*framework.PodInfo{}
	}
	s.nominated[node][pod.UID] = framework.NewPodInfo(pod)
	s.nomNode[pod.UID] = node
}

func (s *Scheduler) nominatedPods() map[string][]*framework.PodInfo {
	s.nomMu.Lock()
	defer s.nomMu.Unlock()
	if len(s.nominated) == 0 {
		return nil
	}
	out := make(map[string][]*framework.PodInfo, len(s.nominated))
	for node, m := range s.nominated {
		for _, p := range m {
			out[node] = append(out[node], p)
		}
	}
	return out
}
