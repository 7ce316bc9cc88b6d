package nodestatus

import (
	"context"
	"errors"
	"fmt"
	"net"
	goruntime "runtime"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/internal/version"
)

// runtimeType is the prefix of nodeInfo.containerRuntimeVersion.
const runtimeType = "containerd"

// setter fills part of a node's status in place, as upstream's
// nodestatus.Setter does; an error leaves that part as it was.
type setter func(ctx context.Context, node *corev1.Node) error

// setStatus runs every setter in upstream's order (facts first, conditions
// last, since Ready looks at the capacity just set).
func (r *Reporter) setStatus(ctx context.Context, node *corev1.Node) {
	logger := klog.FromContext(ctx)
	for _, s := range []struct {
		name string
		fn   setter
	}{
		{"addresses", r.setAddresses},
		{"machineInfo", r.setMachineInfo},
		{"versionInfo", r.setVersionInfo},
		{"daemonEndpoints", r.setDaemonEndpoints},
		{"goRuntime", setGoRuntime},
		{"memoryPressure", r.pressureCondition(memoryPressure, r.cfg.MemoryPressure)},
		{"diskPressure", r.pressureCondition(diskPressure, r.cfg.DiskPressure)},
		{"pidPressure", r.pressureCondition(pidPressure, r.cfg.PIDPressure)},
		{"ready", r.setReadyCondition},
	} {
		if err := s.fn(ctx, node); err != nil {
			logger.Error(err, "Failed to set some node status fields", "node", klog.KObj(node), "setter", s.name)
		}
	}
}

// setAddresses reports the InternalIP(s) and the Hostname address, and
// keeps them for Addresses.
func (r *Reporter) setAddresses(ctx context.Context, node *corev1.Node) error {
	if err := r.computeAddresses(ctx, node); err != nil {
		return err
	}
	observed := slices.Clone(node.Status.Addresses)
	r.addresses.Store(&observed)
	return nil
}

// Addresses are the node's addresses as last reported (none before the
// first status sync): the serving certificate's SANs.
func (r *Reporter) Addresses() []corev1.NodeAddress {
	if a := r.addresses.Load(); a != nil {
		return slices.Clone(*a)
	}
	return nil
}

func (r *Reporter) computeAddresses(_ context.Context, node *corev1.Node) error {
	var primary, secondary net.IP
	if len(r.cfg.Addresses) > 0 && !r.cfg.Addresses[0].IsUnspecified() {
		primary = r.cfg.Addresses[0]
	}
	if len(r.cfg.Addresses) > 1 && !r.cfg.Addresses[1].IsUnspecified() {
		secondary = r.cfg.Addresses[1]
	}
	if primary != nil {
		if err := r.validateIP(primary); err != nil {
			return fmt.Errorf("failed to validate nodeIP: %w", err)
		}
	}
	if secondary != nil {
		if err := r.validateIP(secondary); err != nil {
			return fmt.Errorf("failed to validate secondaryNodeIP: %w", err)
		}
	}
	hostname := corev1.NodeAddress{Type: corev1.NodeHostName, Address: r.cfg.Hostname}
	if primary != nil && secondary != nil {
		node.Status.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: primary.String()},
			{Type: corev1.NodeInternalIP, Address: secondary.String()},
			hostname,
		}
		return nil
	}
	ip, err := primary, error(nil)
	if ip == nil {
		ip, err = r.discoverIP(node.Name)
	}
	if ip == nil {
		return fmt.Errorf("can't get ip address of node %s. error: %v", node.Name, err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip.String()}, hostname}
	return nil
}

// discoverIP finds the node's IP when none is configured: the hostname if it
// is an IP, else a valid address the node name resolves to (IPv4 preferred),
// else the address of the interface holding the default route.
func (r *Reporter) discoverIP(nodeName string) (net.IP, error) {
	if ip := netutils.ParseIPSloppy(r.cfg.Hostname); ip != nil {
		return ip, nil
	}
	var chosen net.IP
	var err error
	addrs, _ := net.LookupIP(nodeName)
	for _, a := range addrs {
		if err = r.validateIP(a); err != nil {
			continue
		}
		if a.To4() != nil {
			return a, nil
		}
		if chosen == nil {
			chosen = a
		}
	}
	if chosen != nil {
		return chosen, nil
	}
	return utilnet.ResolveBindAddress(nil)
}

// validateHostIP accepts an IP only if it is a usable unicast address of one
// of the host's interfaces, with upstream's messages.
func validateHostIP(ip net.IP) error {
	switch {
	case ip.To4() == nil && ip.To16() == nil:
		return errors.New("nodeIP must be a valid IP address")
	case ip.IsLoopback():
		return errors.New("nodeIP can't be loopback address")
	case ip.IsMulticast():
		return errors.New("nodeIP can't be a multicast address")
	case ip.IsLinkLocalUnicast():
		return errors.New("nodeIP can't be a link-local unicast address")
	case ip.IsUnspecified():
		return errors.New("nodeIP can't be an all zeros address")
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return nil
		}
		if n, ok := a.(*net.IPAddr); ok && n.IP.Equal(ip) {
			return nil
		}
	}
	return fmt.Errorf("node IP: %q not found in the host's network interfaces", ip.String())
}

// setMachineInfo reports capacity and allocatable and the host's identity.
// A host that cannot be read reports zero cpu and memory, as upstream does
// when cAdvisor fails, which leaves the node Ready on the pods count alone.
func (r *Reporter) setMachineInfo(ctx context.Context, node *corev1.Node) error {
	if node.Status.Capacity == nil {
		node.Status.Capacity = corev1.ResourceList{}
	}
	capacity := node.Status.Capacity
	capacity[corev1.ResourcePods] = *resource.NewQuantity(int64(r.cfg.MaxPods), resource.DecimalSI)
	m, err := r.readMachine(r.cfg.CgroupPath)
	if err != nil {
		capacity[corev1.ResourceCPU] = *resource.NewMilliQuantity(0, resource.DecimalSI)
		capacity[corev1.ResourceMemory] = resource.MustParse("0Gi")
		klog.FromContext(ctx).Error(err, "Error getting machine info")
	} else {
		node.Status.NodeInfo.MachineID = m.machineID
		node.Status.NodeInfo.SystemUUID = m.systemUUID
		if old := node.Status.NodeInfo.BootID; old != "" && old != m.bootID {
			r.event(corev1.EventTypeWarning, "Rebooted", fmt.Sprintf("Node %s has been rebooted, boot id: %s", r.cfg.NodeName, m.bootID))
		}
		node.Status.NodeInfo.BootID = m.bootID
		capacity[corev1.ResourceCPU] = *resource.NewMilliQuantity(m.milliCPU, resource.DecimalSI)
		capacity[corev1.ResourceMemory] = *resource.NewQuantity(m.memoryBytes, resource.BinarySI)
		for name, q := range m.hugePages {
			capacity[name] = q
		}
		if size, err := rootfsCapacity(r.cfg.RootDir); err != nil {
			klog.FromContext(ctx).Error(err, "Error getting ephemeral storage capacity")
		} else {
			capacity[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(size, resource.BinarySI)
		}
	}
	for name, q := range r.cfg.Capacity {
		capacity[name] = q.DeepCopy()
	}

	allocatable := corev1.ResourceList{}
	for name, q := range capacity {
		v := q.DeepCopy()
		if reserved, ok := r.cfg.Reserved[name]; ok {
			v.Sub(reserved)
		}
		if v.Sign() < 0 {
			v.Set(0)
		}
		allocatable[name] = v
	}
	// Memory backing pre-allocated huge pages is not allocatable as memory.
	for name, q := range capacity {
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			mem := allocatable[corev1.ResourceMemory]
			mem.Sub(q)
			if mem.Sign() < 0 {
				mem.Set(0)
			}
			allocatable[corev1.ResourceMemory] = mem
		}
	}
	node.Status.Allocatable = allocatable
	return nil
}

// setVersionInfo reports kernel, OS image, runtime and kubelet versions.
func (r *Reporter) setVersionInfo(ctx context.Context, node *corev1.Node) error {
	node.Status.NodeInfo.KernelVersion = r.kernelVersion()
	node.Status.NodeInfo.OSImage = r.osImage()
	v, err := r.cfg.RuntimeVersion(ctx)
	if err != nil || v == "" {
		v = "Unknown"
	}
	node.Status.NodeInfo.ContainerRuntimeVersion = runtimeType + "://" + v
	node.Status.NodeInfo.KubeletVersion = version.GitVersion()
	// DisableNodeKubeProxyVersion is on: the field is left empty.
	node.Status.NodeInfo.KubeProxyVersion = ""
	return nil
}

func (r *Reporter) setDaemonEndpoints(_ context.Context, node *corev1.Node) error {
	node.Status.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: r.cfg.KubeletPort}}
	return nil
}

func setGoRuntime(_ context.Context, node *corev1.Node) error {
	node.Status.NodeInfo.OperatingSystem = goruntime.GOOS
	node.Status.NodeInfo.Architecture = goruntime.GOARCH
	return nil
}

// pressure describes one pressure condition with upstream's reasons,
// messages and event reasons for both of its states.
type pressure struct {
	condition             corev1.NodeConditionType
	trueReason, trueMsg   string
	falseReason, falseMsg string
	trueEvent, falseEvent string
}

var (
	memoryPressure = pressure{
		condition:  corev1.NodeMemoryPressure,
		trueReason: "KubeletHasInsufficientMemory", trueMsg: "kubelet has insufficient memory available", trueEvent: "NodeHasInsufficientMemory",
		falseReason: "KubeletHasSufficientMemory", falseMsg: "kubelet has sufficient memory available", falseEvent: "NodeHasSufficientMemory",
	}
	diskPressure = pressure{
		condition:  corev1.NodeDiskPressure,
		trueReason: "KubeletHasDiskPressure", trueMsg: "kubelet has disk pressure", trueEvent: "NodeHasDiskPressure",
		falseReason: "KubeletHasNoDiskPressure", falseMsg: "kubelet has no disk pressure", falseEvent: "NodeHasNoDiskPressure",
	}
	pidPressure = pressure{
		condition:  corev1.NodePIDPressure,
		trueReason: "KubeletHasInsufficientPID", trueMsg: "kubelet has insufficient PID available", trueEvent: "NodeHasInsufficientPID",
		falseReason: "KubeletHasSufficientPID", falseMsg: "kubelet has sufficient PID available", falseEvent: "NodeHasSufficientPID",
	}
)

// pressureCondition keeps one pressure condition: the heartbeat moves every
// time, the transition time and event only when the status flips.
func (r *Reporter) pressureCondition(p pressure, under func() bool) setter {
	return func(_ context.Context, node *corev1.Node) error {
		now := metav1.NewTime(r.cfg.Clock.Now())
		idx := conditionIndex(node, p.condition)
		if idx < 0 {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{Type: p.condition, Status: corev1.ConditionUnknown})
			idx = len(node.Status.Conditions) - 1
		}
		c := &node.Status.Conditions[idx]
		c.LastHeartbeatTime = now
		want, reason, msg, event := corev1.ConditionFalse, p.falseReason, p.falseMsg, p.falseEvent
		if under != nil && under() {
			want, reason, msg, event = corev1.ConditionTrue, p.trueReason, p.trueMsg, p.trueEvent
		}
		if c.Status != want {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = want, reason, msg, now
			r.statusEvent(event)
		}
		return nil
	}
}

// setReadyCondition reports Ready when the runtime answers, the network is
// ready and cpu, memory, pods and ephemeral-storage capacity are known.
func (r *Reporter) setReadyCondition(ctx context.Context, node *corev1.Node) error {
	now := metav1.NewTime(r.cfg.Clock.Now())
	var errs []string
	if _, err := r.cfg.RuntimeVersion(ctx); err != nil {
		errs = append(errs, "container runtime is down")
	}
	if r.cfg.NetworkReady != nil {
		if err := r.cfg.NetworkReady(ctx); err != nil {
			errs = append(errs, fmt.Sprintf("container runtime network not ready: %v", err))
		}
	}
	var missing []string
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage} {
		if _, ok := node.Status.Capacity[name]; !ok {
			missing = append(missing, string(name))
		}
	}
	if len(missing) > 0 {
		errs = append(errs, "missing node capacity for resources: "+strings.Join(missing, ", "))
	}
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: "KubeletReady", Message: "kubelet is posting ready status",
		LastHeartbeatTime: now, LastTransitionTime: now,
	}
	if len(errs) > 0 {
		ready.Status, ready.Reason, ready.Message = corev1.ConditionFalse, "KubeletNotReady", aggregateMessage(errs)
	}
	idx := conditionIndex(node, corev1.NodeReady)
	if idx < 0 {
		node.Status.Conditions = append(node.Status.Conditions, ready)
		return nil
	}
	old := node.Status.Conditions[idx]
	if old.Status == ready.Status {
		ready.LastTransitionTime = old.LastTransitionTime
	} else if ready.Status == corev1.ConditionTrue {
		r.statusEvent("NodeReady")
	} else {
		r.statusEvent("NodeNotReady")
		klog.FromContext(ctx).Info("Node became not ready", "node", klog.KObj(node), "condition", ready)
	}
	node.Status.Conditions[idx] = ready
	return nil
}

// aggregateMessage joins errors as utilerrors.NewAggregate prints them.
func aggregateMessage(errs []string) string {
	if len(errs) == 1 {
		return errs[0]
	}
	return "[" + strings.Join(errs, ", ") + "]"
}

func conditionIndex(node *corev1.Node, t corev1.NodeConditionType) int {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return i
		}
	}
	return -1
}
