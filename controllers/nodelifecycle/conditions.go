package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ReasonNodeStatusUnknown and its message mark conditions of a node
	// whose kubelet stopped heartbeating.
	ReasonNodeStatusUnknown  = "NodeStatusUnknown"
	MessageNodeStatusUnknown = "Kubelet stopped posting node status."
	// ReasonNodeStatusNeverUpdated and its message mark conditions a
	// kubelet never posted.
	ReasonNodeStatusNeverUpdated  = "NodeStatusNeverUpdated"
	MessageNodeStatusNeverUpdated = "Kubelet never posted node status."
)

// monitoredConditions are the conditions set to Unknown when the kubelet
// goes silent, as upstream's Ready plus remainingNodeConditionTypes.
var monitoredConditions = []corev1.NodeConditionType{
	corev1.NodeReady,
	corev1.NodeMemoryPressure,
	corev1.NodeDiskPressure,
	corev1.NodePIDPressure,
}

// nodeCondition returns the node's condition of type t, or nil.
func nodeCondition(status *corev1.NodeStatus, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			return &status.Conditions[i]
		}
	}
	return nil
}

// readyStatus is the status of the node's Ready condition, Unknown when it
// has none.
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := nodeCondition(&node.Status, corev1.NodeReady); c != nil {
		return c.Status
	}
	return corev1.ConditionUnknown
}

// markUnknown sets the monitored conditions of a silent node to Unknown,
// adding the ones its kubelet never posted, and reports whether anything
// changed. Heartbeat times are kept: they are the kubelet's.
func markUnknown(node *corev1.Node, now time.Time) bool {
	changed := false
	ts := metav1.NewTime(now)
	for _, t := range monitoredConditions {
		c := nodeCondition(&node.Status, t)
		if c == nil {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type:               t,
				Status:             corev1.ConditionUnknown,
				Reason:             ReasonNodeStatusNeverUpdated,
				Message:            MessageNodeStatusNeverUpdated,
				LastHeartbeatTime:  node.CreationTimestamp,
				LastTransitionTime: ts,
			})
			changed = true
			continue
		}
		if c.Status == corev1.ConditionUnknown {
			continue
		}
		c.Status = corev1.ConditionUnknown
		c.Reason = ReasonNodeStatusUnknown
		c.Message = MessageNodeStatusUnknown
		c.LastTransitionTime = ts
		changed = true
	}
	return changed
}

// heartbeat is what the controller last observed of a node's liveness.
type heartbeat struct {
	// leaseRenew is the Lease's renewTime, readyBeat the Ready condition's
	// lastHeartbeatTime, as last seen.
	leaseRenew time.Time
	readyBeat  time.Time
	// probe is when, on this controller's clock, either last moved
	// (upstream's probeTimestamp): remote clocks are never compared with
	// local time.
	probe time.Time
	// ready is the Ready status last seen, for transition events.
	ready corev1.ConditionStatus
}

// observe folds the node's and Lease's current heartbeats into prev (nil on
// first sight, when the probe starts now) and returns the new record.
func observe(prev *heartbeat, node *corev1.Node, lease leaseTime, now time.Time) heartbeat {
	var beat time.Time
	if c := nodeCondition(&node.Status, corev1.NodeReady); c != nil {
		beat = c.LastHeartbeatTime.Time
	}
	renew := lease.renew
	if prev == nil {
		return heartbeat{leaseRenew: renew, readyBeat: beat, probe: now, ready: readyStatus(node)}
	}
	h := *prev
	if !beat.Equal(h.readyBeat) {
		h.readyBeat = beat
		h.probe = now
	}
	if renew.After(h.leaseRenew) {
		h.leaseRenew = renew
		h.probe = now
	}
	return h
}

// leaseTime is a node Lease's renewTime (zero without a Lease).
type leaseTime struct{ renew time.Time }
