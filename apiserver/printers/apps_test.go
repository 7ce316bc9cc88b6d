package printers

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestDeploymentRows(t *testing.T) {
	d := &appsv1.Deployment{
		ObjectMeta: objMeta("web", 3*day),
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: webSelector, Template: twoContainers},
		Status:     appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2},
	}
	invalid := &appsv1.Deployment{ObjectMeta: objMeta("bad", 3*day), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}}}
	testRows(t, schema.GroupResource{Group: "apps", Resource: "deployments"}, []rowCase{
		{name: "rolling", obj: d, cells: []any{"web", "2/3", int64(3), int64(2), "3d", "app,sidecar", "nginx:1.27,envoy", "app=web"}},
		{name: "invalid selector", obj: invalid, cells: []any{"bad", "0/0", int64(0), int64(0), "3d", "", "", "<invalid>"}},
	})
}

func TestReplicaSetStatefulSetDaemonSetRows(t *testing.T) {
	testRows(t, schema.GroupResource{Group: "apps", Resource: "replicasets"}, []rowCase{{
		name: "scaled",
		obj: &appsv1.ReplicaSet{ObjectMeta: objMeta("web-5d8", 3*day), Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](2), Selector: webSelector, Template: twoContainers},
			Status: appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1}},
		cells: []any{"web-5d8", int64(2), int64(2), int64(1), "3d", "app,sidecar", "nginx:1.27,envoy", "app=web"},
	}})
	testRows(t, schema.GroupResource{Group: "apps", Resource: "statefulsets"}, []rowCase{{
		name:  "ready",
		obj:   &appsv1.StatefulSet{ObjectMeta: objMeta("db", 3*day), Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Template: twoContainers}, Status: appsv1.StatefulSetStatus{ReadyReplicas: 3}},
		cells: []any{"db", "3/3", "3d", "app,sidecar", "nginx:1.27,envoy"},
	}})
	testRows(t, schema.GroupResource{Group: "apps", Resource: "daemonsets"}, []rowCase{{
		name: "node selector",
		obj: &appsv1.DaemonSet{ObjectMeta: objMeta("agent", 3*day),
			Spec: appsv1.DaemonSetSpec{Selector: webSelector, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				NodeSelector: map[string]string{"kubernetes.io/os": "linux"}, Containers: []corev1.Container{{Name: "agent", Image: "agent:2"}}}}},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 5, CurrentNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 2, NumberAvailable: 1}},
		cells: []any{"agent", int64(5), int64(4), int64(3), int64(2), int64(1), "kubernetes.io/os=linux", "3d", "agent", "agent:2", "app=web"},
	}})
}

func TestControllerRevisionRows(t *testing.T) {
	owned := func(apiVersion string) *appsv1.ControllerRevision {
		r := &appsv1.ControllerRevision{ObjectMeta: objMeta("db-7f9", day), Revision: 4}
		r.OwnerReferences = []metav1.OwnerReference{
			{APIVersion: "v1", Kind: "ConfigMap", Name: "not-the-controller"},
			{APIVersion: apiVersion, Kind: "StatefulSet", Name: "db", Controller: ptr.To(true)},
		}
		return r
	}
	testRows(t, schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}, []rowCase{
		{name: "stateful set", obj: owned("apps/v1"), cells: []any{"db-7f9", "statefulset.apps/db", int64(4), "24h"}},
		{name: "core group", obj: owned("v1"), cells: []any{"db-7f9", "statefulset/db", int64(4), "24h"}},
		{name: "no controller", obj: &appsv1.ControllerRevision{ObjectMeta: objMeta("r", day), Revision: 1}, cells: []any{"r", "<none>", int64(1), "24h"}},
	})
	t.Run("bad controller apiVersion", func(t *testing.T) {
		_, err := testConvertor(t, schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}).ConvertToTable(context.Background(), owned("a/b/c"), nil)
		if err == nil || !strings.Contains(err.Error(), `unexpected GroupVersion string: a/b/c`) {
			t.Errorf("error %v, want the apiVersion parse error", err)
		}
	})
}
