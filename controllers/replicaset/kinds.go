package replicaset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kind adapts one controller type (ReplicaSet or ReplicationController) to
// the shared reconciler, which works on *appsv1.ReplicaSet views.
type kind struct {
	name      string // controller name
	component string // event source
	gvk       schema.GroupVersionKind
	newObject func() client.Object
	// view is obj seen as a ReplicaSet (a copy for RCs; obj itself for RSs).
	view func(obj client.Object) *appsv1.ReplicaSet
	// setStatus stores st into obj.
	setStatus func(obj client.Object, st appsv1.ReplicaSetStatus)
	// list lists the controllers of namespace ns as ReplicaSet views.
	list func(ctx context.Context, c client.Reader, ns string) ([]*appsv1.ReplicaSet, error)
}

var replicaSetKind = &kind{
	name:      "replicaset",
	component: "replicaset-controller",
	gvk:       appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
	newObject: func() client.Object { return &appsv1.ReplicaSet{} },
	view:      func(obj client.Object) *appsv1.ReplicaSet { return obj.(*appsv1.ReplicaSet) },
	setStatus: func(obj client.Object, st appsv1.ReplicaSetStatus) { obj.(*appsv1.ReplicaSet).Status = st },
	list: func(ctx context.Context, c client.Reader, ns string) ([]*appsv1.ReplicaSet, error) {
		var l appsv1.ReplicaSetList
		if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list replicasets: %w", err)
		}
		out := make([]*appsv1.ReplicaSet, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	},
}

var replicationControllerKind = &kind{
	name:      "replicationcontroller",
	component: "replication-controller",
	gvk:       corev1.SchemeGroupVersion.WithKind("ReplicationController"),
	newObject: func() client.Object { return &corev1.ReplicationController{} },
	view: func(obj client.Object) *appsv1.ReplicaSet {
		return ReplicaSetFromRC(obj.(*corev1.ReplicationController))
	},
	setStatus: func(obj client.Object, st appsv1.ReplicaSetStatus) {
		obj.(*corev1.ReplicationController).Status = RCStatusFromReplicaSet(st)
	},
	list: func(ctx context.Context, c client.Reader, ns string) ([]*appsv1.ReplicaSet, error) {
		var l corev1.ReplicationControllerList
		if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list replicationcontrollers: %w", err)
		}
		out := make([]*appsv1.ReplicaSet, len(l.Items))
		for i := range l.Items {
			out[i] = ReplicaSetFromRC(&l.Items[i])
		}
		return out, nil
	},
}

// ReplicaSetFromRC is the ReplicaSet equivalent to rc: same metadata,
// replicas, minReadySeconds and template, its selector map as matchLabels (a
// nil map stays a nil selector, which selects nothing), and its status.
func ReplicaSetFromRC(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ReplicationController"},
		ObjectMeta: *rc.ObjectMeta.DeepCopy(),
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        rc.Spec.Replicas,
			MinReadySeconds: rc.Spec.MinReadySeconds,
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas:             rc.Status.Replicas,
			FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas:        rc.Status.ReadyReplicas,
			AvailableReplicas:    rc.Status.AvailableReplicas,
			ObservedGeneration:   rc.Status.ObservedGeneration,
		},
	}
	if rc.Spec.Selector != nil {
		rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{}}
		for k, v := range rc.Spec.Selector {
			rs.Spec.Selector.MatchLabels[k] = v
		}
	}
	if rc.Spec.Template != nil {
		rc.Spec.Template.DeepCopyInto(&rs.Spec.Template)
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type:               appsv1.ReplicaSetConditionType(c.Type),
			Status:             c.Status,
			LastTransitionTime: c.LastTransitionTime,
			Reason:             c.Reason,
			Message:            c.Message,
		})
	}
	return rs
}

// RCStatusFromReplicaSet converts a ReplicaSet status to a
// ReplicationController's (which has no terminatingReplicas).
func RCStatusFromReplicaSet(st appsv1.ReplicaSetStatus) corev1.ReplicationControllerStatus {
	out := corev1.ReplicationControllerStatus{
		Replicas:             st.Replicas,
		FullyLabeledReplicas: st.FullyLabeledReplicas,
		ReadyReplicas:        st.ReadyReplicas,
		AvailableReplicas:    st.AvailableReplicas,
		ObservedGeneration:   st.ObservedGeneration,
	}
	for _, c := range st.Conditions {
		out.Conditions = append(out.Conditions, corev1.ReplicationControllerCondition{
			Type:               corev1.ReplicationControllerConditionType(c.Type),
			Status:             c.Status,
			LastTransitionTime: c.LastTransitionTime,
			Reason:             c.Reason,
			Message:            c.Message,
		})
	}
	return out
}
