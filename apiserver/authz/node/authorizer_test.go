package node

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

func nodeUser(name string) user.Info {
	return &user.DefaultInfo{Name: "system:node:" + name, Groups: []string{user.NodesGroup, user.AllAuthenticated}}
}

func TestIdentity(t *testing.T) {
	tests := []struct {
		name     string
		user     user.Info
		wantName string
		wantNode bool
	}{
		{"node", nodeUser("n1"), "n1", true},
		{"nil", nil, "", false},
		{"no group", &user.DefaultInfo{Name: "system:node:n1"}, "", false},
		{"other user in group", &user.DefaultInfo{Name: "alice", Groups: []string{user.NodesGroup}}, "", false},
		{"unnamed node", &user.DefaultInfo{Name: "system:node:", Groups: []string{user.NodesGroup}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, isNode := Identity(tt.user)
			if name != tt.wantName || isNode != tt.wantNode {
				t.Fatalf("Identity = %q, %v; want %q, %v", name, isNode, tt.wantName, tt.wantNode)
			}
		})
	}
}

// testGraph has pod p1 on n1 using secret s1, config map c1, claim pvc1
// (bound to pv1, whose CSI volume needs secret pvsecret) and service
// account sa1; pod p2 on n2 using secret s2 and the shared config map;
// attachment va1 on n1 and slice slice1 on n1.
func testGraph() *Graph {
	g := NewGraph()
	g.AddPod(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p1"},
		Spec: corev1.PodSpec{
			NodeName:           "n1",
			ServiceAccountName: "sa1",
			Containers: []corev1.Container{{Name: "c", EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c1"}}},
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shared"}}},
			}}},
			Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s1"}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pvc1"}}},
			},
		},
	})
	g.AddPod(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p2"},
		Spec: corev1.PodSpec{
			NodeName:         "n2",
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "s2"}},
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "shared"}, Key: "k"}}}}}},
		},
	})
	g.AddPod(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "mirror", Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "x"}},
		Spec: corev1.PodSpec{NodeName: "n1", Volumes: []corev1.Volume{
			{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "mirror-secret"}}}}},
	})
	g.AddPV(&corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv1"},
		Spec: corev1.PersistentVolumeSpec{
			ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "pvc1"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver:                     "d",
				NodePublishSecretRef:       &corev1.SecretReference{Namespace: "ns", Name: "pvsecret"},
				ControllerPublishSecretRef: &corev1.SecretReference{Namespace: "ns", Name: "controllersecret"},
			}},
		},
	})
	g.AddVolumeAttachment("va1", "n1")
	g.AddResourceSlice("slice1", "n1")
	g.AddPodCertificateRequest("ns", "pcr1", "n1")
	g.AddPodCertificateRequest("ns", "pcr2", "n2")
	return g
}

var testRules = []rbacv1.PolicyRule{
	{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"services"}},
}

func TestAuthorize(t *testing.T) {
	a := NewAuthorizer(testGraph(), testRules, nil)
	res := func(verb, resource, subresource, namespace, name string) authorizer.AttributesRecord {
		group := ""
		switch resource {
		case "volumeattachments", "csinodes":
			group = "storage.k8s.io"
		case "leases":
			group = "coordination.k8s.io"
		case "resourceslices", "resourceclaims":
			group = "resource.k8s.io"
		case "podcertificaterequests":
			group = "certificates.k8s.io"
		}
		return authorizer.AttributesRecord{User: nodeUser("n1"), Verb: verb, APIGroup: group, APIVersion: "v1",
			Resource: resource, Subresource: subresource, Namespace: namespace, Name: name, ResourceRequest: true}
	}
	withSelector := func(r authorizer.AttributesRecord, sel string) authorizer.AttributesRecord {
		r.FieldSelectorRequirements = fields.ParseSelectorOrDie(sel).Requirements()
		return r
	}
	noRelation := "no relationship found between node 'n1' and this object"
	tests := []struct {
		name   string
		attrs  authorizer.AttributesRecord
		allow  bool
		reason string
	}{
		{"own secret", res("get", "secrets", "", "ns", "s1"), true, ""},
		{"watch own secret", res("watch", "secrets", "", "ns", "s1"), true, ""},
		{"other node's secret", res("get", "secrets", "", "ns", "s2"), false, noRelation},
		{"unknown secret", res("get", "secrets", "", "ns", "nope"), false, noRelation},
		{"update secret", res("update", "secrets", "", "ns", "s1"), false, "can only read resources of this type"},
		{"list all secrets", res("list", "secrets", "", "ns", ""), false, "No Object name found"},
		{"cluster-wide secrets", res("list", "secrets", "", "", ""), false, "can only read namespaced object of this type"},
		{"secret of pv of claim of own pod", res("get", "secrets", "", "ns", "pvsecret"), true, ""},
		{"controller secret of pv", res("get", "secrets", "", "ns", "controllersecret"), false, noRelation},
		{"mirror pod grants nothing", res("get", "secrets", "", "ns", "mirror-secret"), false, noRelation},
		{"own configmap", res("get", "configmaps", "", "ns", "c1"), true, ""},
		{"shared configmap", res("get", "configmaps", "", "ns", "shared"), true, ""},
		{"own pvc", res("get", "persistentvolumeclaims", "", "ns", "pvc1"), true, ""},
		{"list pvcs", res("list", "persistentvolumeclaims", "", "ns", "pvc1"), false, "can only get individual resources of this type"},
		{"pvc status", res("patch", "persistentvolumeclaims", "status", "ns", "pvc1"), true, ""},
		{"own pv", res("get", "persistentvolumes", "", "", "pv1"), true, ""},
		{"own attachment", res("get", "volumeattachments", "", "", "va1"), true, ""},
		{"service account", res("get", "serviceaccounts", "", "ns", "sa1"), true, ""},
		{"token", res("create", "serviceaccounts", "token", "ns", "sa1"), true, ""},
		{"token of unrelated account", res("create", "serviceaccounts", "token", "ns", "default"), false, noRelation},
		{"own lease", res("update", "leases", "", "kube-node-lease", "n1"), true, ""},
		{"other lease", res("update", "leases", "", "kube-node-lease", "n2"), false, "can only access node lease with the same name as the requesting node"},
		{"lease elsewhere", res("get", "leases", "", "default", "n1"), false, `can only access leases in the "kube-node-lease" system namespace`},
		{"own node", res("get", "nodes", "", "", "n1"), true, ""},
		{"other node", res("get", "nodes", "", "", "n2"), false, "node 'n1' cannot read 'n2', only its own Node object"},
		{"list nodes", res("list", "nodes", "", "", ""), false, "node 'n1' cannot read all nodes, only its own Node object"},
		{"patch node", res("patch", "nodes", "", "", "n2"), true, ""},
		{"own pod", res("get", "pods", "", "ns", "p1"), true, ""},
		{"other pod", res("get", "pods", "", "ns", "p2"), false, noRelation},
		{"list own pods", withSelector(res("list", "pods", "", "", ""), "spec.nodeName=n1"), true, ""},
		{"list other pods", withSelector(res("list", "pods", "", "", ""), "spec.nodeName=n2"), false, "can only list/watch pods with spec.nodeName field selector"},
		{"pod status", res("patch", "pods", "status", "ns", "p2"), true, ""},
		{"evict", res("create", "pods", "eviction", "ns", "p2"), true, ""},
		{"pod log", res("get", "pods", "log", "ns", "p1"), false, ""},
		{"own slice", res("update", "resourceslices", "", "", "slice1"), true, ""},
		{"list slices", res("list", "resourceslices", "", "", ""), false, "can only list/watch/deletecollection resourceslices with nodeName field selector"},
		{"list own slices", withSelector(res("list", "resourceslices", "", "", ""), "spec.nodeName=n1"), true, ""},
		{"create pcr", res("create", "podcertificaterequests", "", "ns", ""), true, ""},
		{"own pcr", res("get", "podcertificaterequests", "", "ns", "pcr1"), true, ""},
		{"other node's pcr", res("get", "podcertificaterequests", "", "ns", "pcr2"), false, noRelation},
		{"same name elsewhere", res("get", "podcertificaterequests", "", "other", "pcr1"), false, noRelation},
		{"watch own pcrs", withSelector(res("watch", "podcertificaterequests", "", "", ""), "spec.nodeName=n1"), true, ""},
		{"list all pcrs", res("list", "podcertificaterequests", "", "", ""), false, "can only list/watch podcertificaterequests with nodeName field selector"},
		{"issue pcr", res("update", "podcertificaterequests", "status", "ns", "pcr1"), false, "nodes may not access the status subresource of PodCertificateRequests"},
		{"delete pcr", res("delete", "podcertificaterequests", "", "ns", "pcr1"), false, "nodes may not delete podcertificaterequests"},
		{"static rule", res("list", "services", "", "", ""), true, ""},
		{"no rule", res("list", "deployments", "", "", ""), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, err := a.Authorize(context.Background(), tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if (d == authorizer.DecisionAllow) != tt.allow || reason != tt.reason {
				t.Fatalf("Authorize = %v %q, want allow=%v %q", d, reason, tt.allow, tt.reason)
			}
			if d == authorizer.DecisionDeny {
				t.Fatal("the Node authorizer must never deny")
			}
		})
	}
}

func TestAuthorizeNonNodesAndUnsynced(t *testing.T) {
	synced := false
	a := NewAuthorizer(testGraph(), testRules, func() bool { return synced })
	get := authorizer.AttributesRecord{User: nodeUser("n1"), Verb: "get", APIVersion: "v1", Resource: "secrets", Namespace: "ns", Name: "s1", ResourceRequest: true}
	if d, reason, _ := a.Authorize(context.Background(), get); d != authorizer.DecisionNoOpinion || reason != reasonNotSynced {
		t.Fatalf("unsynced: %v %q", d, reason)
	}
	synced = true
	if d, _, _ := a.Authorize(context.Background(), get); d != authorizer.DecisionAllow {
		t.Fatalf("synced: %v", d)
	}
	get.User = &user.DefaultInfo{Name: "alice"}
	if d, reason, _ := a.Authorize(context.Background(), get); d != authorizer.DecisionNoOpinion || reason != "" {
		t.Fatalf("non-node: %v %q", d, reason)
	}
	get.User = &user.DefaultInfo{Name: "system:node:", Groups: []string{user.NodesGroup}}
	if _, reason, _ := a.Authorize(context.Background(), get); !strings.Contains(reason, "unknown node for user") {
		t.Fatalf("unnamed node reason %q", reason)
	}
	if _, _, incomplete, err := a.RulesFor(context.Background(), nodeUser("n1"), "ns"); !incomplete || err == nil {
		t.Fatalf("RulesFor a node: incomplete=%v err=%v", incomplete, err)
	}
}

func TestGraphForgetsDeletedObjects(t *testing.T) {
	g := testGraph()
	if ok, _ := g.leadsTo("n1", secretVertex, "ns", "s1"); !ok {
		t.Fatal("s1 should lead to n1")
	}
	g.DeletePod("ns", "p1")
	for _, c := range []struct {
		kind vertexKind
		name string
	}{{secretVertex, "s1"}, {configMapVertex, "c1"}, {pvcVertex, "pvc1"}, {secretVertex, "pvsecret"}} {
		if ok, _ := g.leadsTo("n1", c.kind, "ns", c.name); ok {
			t.Errorf("%s %s still leads to n1 after its pod was deleted", c.kind, c.name)
		}
	}
	// The shared config map still leads to n2.
	if ok, _ := g.leadsTo("n2", configMapVertex, "ns", "shared"); !ok {
		t.Error("shared should still lead to n2")
	}
	// Re-adding a pod with other references replaces the old ones.
	g.AddPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p2"}, Spec: corev1.PodSpec{NodeName: "n2"}})
	if ok, _ := g.leadsTo("n2", secretVertex, "ns", "s2"); ok {
		t.Error("s2 should no longer lead to n2")
	}
	g.DeletePod("ns", "p2")
	g.DeletePod("ns", "mirror")
	g.DeletePV("pv1")
	g.DeleteVolumeAttachment("va1")
	g.DeleteResourceSlice("slice1")
	g.DeletePodCertificateRequest("ns", "pcr1")
	g.DeletePodCertificateRequest("ns", "pcr2")
	if n := g.size(); n != 0 {
		t.Fatalf("graph keeps %d vertices after every object was deleted", n)
	}
}
