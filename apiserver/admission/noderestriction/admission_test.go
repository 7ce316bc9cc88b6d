package noderestriction

import (
	"context"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func newTestPlugin(t *testing.T, objs ...runtime.Object) *Plugin {
	t.Helper()
	f := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	p := NewPlugin()
	p.SetExternalKubeInformerFactory(f)
	p.SetAuthorizer(authorizerfactory.NewAlwaysDenyAuthorizer())
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Pod:
			err = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *corev1.Node:
			err = f.Core().V1().Nodes().Informer().GetIndexer().Add(o)
		case *corev1.ServiceAccount:
			err = f.Core().V1().ServiceAccounts().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestAdmit(t *testing.T) {
	n1 := &user.DefaultInfo{Name: "system:node:n1", Groups: []string{user.NodesGroup}}
	node := func(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	podOn := func(name, nodeName string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}, Spec: corev1.PodSpec{NodeName: nodeName}}
	}
	mirror := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := podOn("m", "n1")
		p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "h"}
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n1", UID: "uid-n1", Controller: new(true)}}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
	pods, nodes := corev1.SchemeGroupVersion.WithResource("pods"), corev1.SchemeGroupVersion.WithResource("nodes")
	leases := coordinationv1.SchemeGroupVersion.WithResource("leases")
	attrs := func(obj, old runtime.Object, res string, sub, ns, name string, op admission.Operation) admission.Attributes {
		gv := pods
		switch res {
		case "nodes":
			gv = nodes
		case "leases":
			gv = leases
		}
		return admission.NewAttributesRecord(obj, old, gv.GroupVersion().WithKind(""), ns, name, gv, sub, op, nil, false, n1)
	}
	tests := []struct {
		name    string
		attrs   admission.Attributes
		wantErr string
	}{
		{"mirror pod", attrs(mirror(nil), nil, "pods", "", "ns", "m", admission.Create), ""},
		{"non-mirror pod", attrs(podOn("p", "n1"), nil, "pods", "", "ns", "p", admission.Create), `pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods`},
		{"mirror pod on other node", attrs(mirror(func(p *corev1.Pod) { p.Spec.NodeName = "n2" }), nil, "pods", "", "ns", "m", admission.Create), `node "n1" can only create pods with spec.nodeName set to itself`},
		{"mirror pod without owner", attrs(mirror(func(p *corev1.Pod) { p.OwnerReferences = nil }), nil, "pods", "", "ns", "m", admission.Create), `node "n1" can only create pods with an owner reference set to itself`},
		{"mirror pod wrong uid", attrs(mirror(func(p *corev1.Pod) { p.OwnerReferences[0].UID = "x" }), nil, "pods", "", "ns", "m", admission.Create), "node n1 UID mismatch: expected x got uid-n1"},
		{"mirror pod with secret", attrs(mirror(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}}
		}), nil, "pods", "", "ns", "m", admission.Create), `node "n1" can not create pods that reference secrets`},
		{"mirror pod with service account", attrs(mirror(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" }), nil, "pods", "", "ns", "m", admission.Create), `node "n1" can not create pods that reference serviceaccounts`},
		{"delete own pod", attrs(nil, nil, "pods", "", "ns", "p1", admission.Delete), ""},
		{"delete other pod", attrs(nil, nil, "pods", "", "ns", "p2", admission.Delete), `node "n1" can only delete pods with spec.nodeName set to itself`},
		{"update pod", attrs(podOn("p1", "n1"), podOn("p1", "n1"), "pods", "", "ns", "p1", admission.Update), `unexpected operation "UPDATE", node "n1" can only create and delete mirror pods`},
		{"own pod status", attrs(podOn("p1", "n1"), podOn("p1", "n1"), "pods", "status", "ns", "p1", admission.Update), ""},
		{"other pod status", attrs(podOn("p2", "n2"), podOn("p2", "n2"), "pods", "status", "ns", "p2", admission.Update), `node "n1" can only update pod status for pods with spec.nodeName set to itself`},
		{"evict own pod", attrs(&policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p1"}}, nil, "pods", "eviction", "ns", "p1", admission.Create), ""},
		{"evict other pod", attrs(&policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p2"}}, nil, "pods", "eviction", "ns", "p2", admission.Create), "node n1 can only evict pods with spec.nodeName set to itself"},
		{"pod log", attrs(nil, nil, "pods", "binding", "ns", "p1", admission.Create), `unexpected pod subresource "binding", only 'status' and 'eviction' are allowed`},
		{"other node", attrs(node("n2", nil), node("n2", nil), "nodes", "", "", "n2", admission.Update), `node "n1" is not allowed to modify node "n2"`},
		{"own node label", attrs(node("n1", map[string]string{"example.com/a": "b", corev1.LabelHostname: "h"}), node("n1", nil), "nodes", "", "", "n1", admission.Update), ""},
		{"own node restricted label", attrs(node("n1", map[string]string{"node-restriction.kubernetes.io/a": "b", "foo.k8s.io/x": "y"}), node("n1", nil), "nodes", "", "", "n1", admission.Update), "is not allowed to modify labels: foo.k8s.io/x, node-restriction.kubernetes.io/a"},
		{"register with node label", attrs(node("n1", map[string]string{"node.kubernetes.io/exclude": "x"}), nil, "nodes", "", "", "", admission.Create), `node "n1" is not allowed to modify node ""`},
		{"own node taints", attrs(node("n1", nil), node("n1", nil, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}), "nodes", "status", "", "n1", admission.Update), `node "n1" is not allowed to modify taints`},
		{"own lease", attrs(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n1", Namespace: "kube-node-lease"}}, nil, "leases", "", "kube-node-lease", "", admission.Create), ""},
		{"other lease", attrs(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n2", Namespace: "kube-node-lease"}}, nil, "leases", "", "kube-node-lease", "", admission.Create), "can only access node lease with the same name as the requesting node"},
		{"lease elsewhere", attrs(nil, nil, "leases", "", "default", "n1", admission.Delete), `can only access leases in the "kube-node-lease" system namespace`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPlugin(t, node("n1", nil), node("n2", nil), podOn("p1", "n1"), podOn("p2", "n2"))
			err := p.Admit(context.Background(), tt.attrs, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Admit: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Admit = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestAdmitIgnoresOtherUsers(t *testing.T) {
	p := newTestPlugin(t)
	a := admission.NewAttributesRecord(&corev1.Pod{}, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p", corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, nil, false, &user.DefaultInfo{Name: "alice"})
	if err := p.Admit(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
}

func TestAdmitPodCertificateRequest(t *testing.T) {
	n1 := &user.DefaultInfo{Name: "system:node:n1", Groups: []string{user.NodesGroup}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "uid-n1"}}
	pod := func(name, nodeName string, annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), Annotations: annotations},
			Spec: corev1.PodSpec{NodeName: nodeName, ServiceAccountName: "sa"}}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "sa", UID: "uid-sa"}}
	req := func(mutate func(*certificatesv1.PodCertificateRequestSpec)) *certificatesv1.PodCertificateRequest {
		r := &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"}, Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: "example.com/s", PodName: "p1", PodUID: "uid-p1", ServiceAccountName: "sa", ServiceAccountUID: "uid-sa", NodeName: "n1", NodeUID: "uid-n1"}}
		if mutate != nil {
			mutate(&r.Spec)
		}
		return r
	}
	pcrs := certificatesv1.SchemeGroupVersion.WithResource("podcertificaterequests")
	attrs := func(obj runtime.Object, sub string, op admission.Operation) admission.Attributes {
		return admission.NewAttributesRecord(obj, nil, certificatesv1.SchemeGroupVersion.WithKind("PodCertificateRequest"), "ns", "r", pcrs, sub, op, nil, false, n1)
	}
	tests := []struct {
		name      string
		attrs     admission.Attributes
		wantErr   string
		forbidden bool
	}{
		{name: "own pod", attrs: attrs(req(nil), "", admission.Create)},
		{name: "update", attrs: attrs(req(nil), "", admission.Update), wantErr: "unexpected operation UPDATE", forbidden: true},
		{name: "status", attrs: attrs(req(nil), "status", admission.Create), wantErr: "unexpected subresource status", forbidden: true},
		{name: "other node named", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.NodeName = "n2" }), "", admission.Create),
			wantErr: `PodCertificateRequest.Spec.NodeName="n2", which is not the requesting node "n1"`, forbidden: true},
		{name: "stale node uid", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.NodeUID = "old" }), "", admission.Create),
			wantErr: `PodCertificateRequest for pod "ns/p1" names node UID "old", inconsistent with the running node ("uid-n1")`},
		{name: "unknown pod", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.PodName = "nope" }), "", admission.Create),
			wantErr: `while retrieving pod "ns/nope" named in the PodCertificateRequest`},
		{name: "stale pod uid", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.PodUID = "old" }), "", admission.Create),
			wantErr: `contains pod UID ("old") which differs from running pod "uid-p1"`},
		{name: "pod elsewhere", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.PodName, s.PodUID = "p2", "uid-p2" }), "", admission.Create),
			wantErr: `pod "ns/p2" is not running on node "n1" named in the PodCertificateRequest`, forbidden: true},
		{name: "mirror pod", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.PodName, s.PodUID = "m", "uid-m" }), "", admission.Create),
			wantErr: `pod "ns/m" is a mirror pod`, forbidden: true},
		{name: "other service account", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.ServiceAccountName = "default" }), "", admission.Create),
			wantErr: `contains serviceAccountName ("default") that differs from running pod ("sa")`, forbidden: true},
		{name: "stale service account uid", attrs: attrs(req(func(s *certificatesv1.PodCertificateRequestSpec) { s.ServiceAccountUID = "old" }), "", admission.Create),
			wantErr: `names service account UID "old", which differs from the running service account ("uid-sa")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPlugin(t, node, pod("p1", "n1", nil), pod("p2", "n2", nil), pod("m", "n1", map[string]string{corev1.MirrorPodAnnotationKey: "x"}), sa)
			err := p.Admit(context.Background(), tt.attrs, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Admit: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || apierrors.IsForbidden(err) != tt.forbidden {
				t.Fatalf("Admit = %v, want error containing %q, forbidden %v", err, tt.wantErr, tt.forbidden)
			}
		})
	}
}
