package fakenode

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Config describes a set of fake nodes.
type Config struct {
	// Client writes Nodes, Leases and pod status.
	Client kubernetes.Interface
	// Names of the nodes.
	Names []string
	// Capacity of each node (default: 32 CPUs, 256Gi memory, 110 pods).
	Capacity corev1.ResourceList
	// Labels added to each node, besides kubernetes.io/hostname and
	// kubernetes.io/os/arch.
	Labels map[string]string
	// Taints of each node.
	Taints []corev1.Taint
	// HeartbeatInterval is how often Leases and the Ready condition are
	// renewed (default 10s, as the kubelet's lease).
	HeartbeatInterval time.Duration
}

// Nodes is a running set of fake nodes.
type Nodes struct {
	cfg     Config
	client  kubernetes.Interface
	queue   workqueue.TypedRateLimitingInterface[types.NamespacedName]
	pods    cache.Indexer
	mu      sync.Mutex
	stopped map[string]bool
	index   map[string]int
	nextIP  map[string]int
}

// Start registers the nodes and keeps them until ctx ends.
func Start(ctx context.Context, cfg Config) (*Nodes, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("fakenode: no client")
	}
	if cfg.Capacity == nil {
		cfg.Capacity = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	n := &Nodes{
		cfg: cfg, client: cfg.Client,
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
		stopped: map[string]bool{}, index: map[string]int{}, nextIP: map[string]int{},
	}
	for i, name := range cfg.Names {
		n.index[name] = i
		if err := n.register(ctx, name); err != nil {
			return nil, err
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
	}))
	inf := factory.Core().V1().Pods().Informer()
	enqueue := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok && n.owns(pod.Spec.NodeName) {
			n.queue.Add(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name})
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	n.pods = inf.GetIndexer()
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		n.queue.ShutDown()
	}()
	for range 2 {
		go n.work(ctx)
	}
	for _, name := range cfg.Names {
		go wait.UntilWithContext(ctx, func(ctx context.Context) { n.heartbeat(ctx, name) }, cfg.HeartbeatInterval)
	}
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("fakenode: pod cache did not sync")
	}
	return n, nil
}

func (n *Nodes) owns(node string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.index[node]
	return ok && !n.stopped[node]
}

// Stop stops one node: it no longer heartbeats or looks after its pods, as
// when a machine is lost.
func (n *Nodes) Stop(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped[name] = true
}

// podCIDR is node i's pod range, 10.<244+i/256>.<i%256>.0/24.
func podCIDR(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(244 + i/256), byte(i % 256), 0}), 24)
}

// nodeIP is node i's InternalIP, in 172.30.0.0/16.
func nodeIP(i int) string {
	return netip.AddrFrom4([4]byte{172, 30, byte(i / 250), byte(1 + i%250)}).String()
}

func (n *Nodes) register(ctx context.Context, name string) error {
	i := n.index[name]
	labels := map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
	for k, v := range n.cfg.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{"skiff.dev/fake-node": "true"}},
		Spec:       corev1.NodeSpec{PodCIDR: podCIDR(i).String(), PodCIDRs: []string{podCIDR(i).String()}, Taints: n.cfg.Taints},
		Status: corev1.NodeStatus{
			Capacity:        n.cfg.Capacity,
			Allocatable:     n.cfg.Capacity,
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: nodeIP(i)}, {Type: corev1.NodeHostName, Address: name}},
			Conditions:      readyConditions(metav1.Now()),
			NodeInfo:        corev1.NodeSystemInfo{KubeletVersion: "v1.37.2-fake", OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "fake://1.0"},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		},
	}
	created, err := n.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("register fake node %s: %w", name, err)
	}
	// Admission taints a new node not-ready:NoSchedule until the node
	// lifecycle controller sees it Ready. A fake node is Ready from the start,
	// and tests may run a scheduler without that controller: take the taint
	// off as it would.
	var taints []corev1.Taint
	for _, t := range created.Spec.Taints {
		if t.Key != corev1.TaintNodeNotReady || t.Effect != corev1.TaintEffectNoSchedule {
			taints = append(taints, t)
		}
	}
	if len(taints) == len(created.Spec.Taints) {
		return nil
	}
	created.Spec.Taints = taints
	if _, err := n.client.CoreV1().Nodes().Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("untaint fake node %s: %w", name, err)
	}
	return nil
}

func readyConditions(now metav1.Time) []corev1.NodeCondition {
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
}

// heartbeat renews the node's Lease and its Ready condition.
func (n *Nodes) heartbeat(ctx context.Context, name string) {
	if !n.owns(name) {
		return
	}
	logger := klog.FromContext(ctx).WithValues("node", name)
	now := metav1.NowMicro()
	leases := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	lease, err := leases.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(name),
				LeaseDurationSeconds: ptr.To[int32](40),
				RenewTime:            &now,
			},
		}
		if node, err := n.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}}
		}
		if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil {
			logger.V(2).Info("Creating the node lease failed", "err", err)
		}
	case err != nil:
		logger.V(2).Info("Reading the node lease failed", "err", err)
	default:
		lease.Spec.RenewTime = &now
		if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
			logger.V(2).Info("Renewing the node lease failed", "err", err)
		}
	}
	node, err := n.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		logger.V(2).Info("Reading the node failed", "err", err)
		return
	}
	conds := readyConditions(metav1.Now())
	for i := range conds {
		for _, old := range node.Status.Conditions {
			if old.Type == conds[i].Type && old.Status == conds[i].Status {
				conds[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	node.Status.Conditions = conds
	if _, err := n.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		logger.V(2).Info("Updating the node status failed", "err", err)
	}
}

func (n *Nodes) work(ctx context.Context) {
	for {
		key, quit := n.queue.Get()
		if quit {
			return
		}
		if err := n.syncPod(ctx, key); err != nil {
			klog.FromContext(ctx).V(2).Info("Syncing a pod on a fake node failed", "pod", key, "err", err)
			n.queue.AddRateLimited(key)
		} else {
			n.queue.Forget(key)
		}
		n.queue.Done(key)
	}
}

// syncPod runs a bound pod: Running and Ready with every container started,
// or, once it is terminating, deleted for good.
func (n *Nodes) syncPod(ctx context.Context, key types.NamespacedName) error {
	obj, exists, err := n.pods.GetByKey(key.String())
	if err != nil || !exists {
		return err
	}
	pod := obj.(*corev1.Pod)
	if !n.owns(pod.Spec.NodeName) {
		return nil
	}
	pods := n.client.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(pod.UID))})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || isRunningReady(pod) {
		return nil
	}
	pod = pod.DeepCopy()
	now := metav1.Now()
	i := n.index[pod.Spec.NodeName]
	pod.Status.Phase = corev1.PodRunning
	pod.Status.HostIP = nodeIP(i)
	pod.Status.HostIPs = []corev1.HostIP{{IP: nodeIP(i)}}
	if pod.Status.PodIP == "" {
		ip := nodeIP(i)
		if !pod.Spec.HostNetwork {
			ip = n.allocateIP(pod.Spec.NodeName, i)
		}
		pod.Status.PodIP = ip
		pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	if pod.Status.StartTime == nil {
		pod.Status.StartTime = &now
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		setCondition(pod, t, now)
	}
	pod.Status.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		pod.Status.InitContainerStatuses = append(pod.Status.InitContainerStatuses, containerStatus(pod, c, true, now))
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, containerStatus(pod, c, false, now))
	}
	_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Gone, or changed: the informer brings the next version.
		return nil
	}
	return err
}

func (n *Nodes) allocateIP(node string, i int) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextIP[node]++
	host := 2 + (n.nextIP[node]-1)%250
	base := podCIDR(i).Addr().As4()
	base[3] = byte(host)
	return netip.AddrFrom4(base).String()
}

func isRunningReady(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue && len(pod.Status.ContainerStatuses) == len(pod.Spec.Containers)
		}
	}
	return false
}

func setCondition(pod *corev1.Pod, t corev1.PodConditionType, now metav1.Time) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			if pod.Status.Conditions[i].Status != corev1.ConditionTrue {
				pod.Status.Conditions[i].Status = corev1.ConditionTrue
				pod.Status.Conditions[i].Reason = ""
				pod.Status.Conditions[i].Message = ""
				pod.Status.Conditions[i].LastTransitionTime = now
			}
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
}

func containerStatus(pod *corev1.Pod, c corev1.Container, init bool, now metav1.Time) corev1.ContainerStatus {
	s := corev1.ContainerStatus{
		Name:        c.Name,
		Image:       c.Image,
		ImageID:     "fake://" + c.Image,
		ContainerID: "fake://" + string(pod.UID) + "/" + c.Name,
	}
	sidecar := init && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	if init && !sidecar {
		s.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}
		return s
	}
	s.Ready = true
	s.Started = ptr.To(true)
	s.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
	return s
}
