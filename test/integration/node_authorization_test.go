package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/admission/noderestriction"
	"github.com/skiff-dev/skiff/apiserver/admission/serviceaccount"
	"github.com/skiff-dev/skiff/apiserver/certs"
	apiserver "github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// startNodeAuthzServer starts a server of its own with
// --authorization-mode=Node,RBAC and NodeRestriction enabled.
func startNodeAuthzServer(t *testing.T) *testserver.TestServer {
	t.Helper()
	ts, err := testserver.Start(testserver.Options{Customize: func(o *apiserver.Options) {
		o.Authorization.Modes = []string{apiserver.ModeNode, apiserver.ModeRBAC}
		if !slices.Contains(o.Admission.Plugins.Registered(), noderestriction.PluginName) {
			noderestriction.Register(o.Admission.Plugins)
		}
		if !slices.Contains(o.Admission.RecommendedPluginOrder, noderestriction.PluginName) {
			i := slices.Index(o.Admission.RecommendedPluginOrder, serviceaccount.PluginName)
			o.Admission.RecommendedPluginOrder = slices.Insert(o.Admission.RecommendedPluginOrder, i+1, noderestriction.PluginName)
		}
		o.Admission.EnablePlugins = append(o.Admission.EnablePlugins, noderestriction.PluginName)
	}})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := ts.Stop(); err != nil {
			t.Errorf("stop server: %v", err)
		}
	})
	return ts
}

// nodeClient returns a client with a certificate ts's CA issues for node
// name: CN system:node:<name>, O system:nodes.
func nodeClient(t *testing.T, ts *testserver.TestServer, name string) kubernetes.Interface {
	t.Helper()
	pki := filepath.Join(ts.DataDir, "pki")
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	if err := ca.EnsureClient(cert, key, "system:node:"+name, []string{"system:nodes"}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(ts.Config)
	cfg.CertFile, cfg.KeyFile = cert, key
	return kubernetes.NewForConfigOrDie(cfg)
}

func TestNodeAuthorizerAndNodeRestriction(t *testing.T) {
	ts := startNodeAuthzServer(t)
	ctx := context.Background()
	admin := ts.Client()

	ns, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "node-authz-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	namespace := ns.Name
	// Nothing creates default service accounts in this server.
	if _, err := admin.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, n := range []string{"n1", "n2"} {
		if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().Secrets(namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret-" + n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-" + n},
			Spec: corev1.PodSpec{
				NodeName:                     n,
				AutomountServiceAccountToken: new(bool),
				Containers:                   []corev1.Container{{Name: "c", Image: "busybox"}},
				Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{
					Secret: &corev1.SecretVolumeSource{SecretName: "secret-" + n}}}},
			},
		}
		if _, err := admin.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n1 := nodeClient(t, ts, "n1")

	// The graph learns of the pods through informers: poll.
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := n1.CoreV1().Secrets(namespace).Get(ctx, "secret-n1", metav1.GetOptions{})
		if apierrors.IsForbidden(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("node n1 reading the secret of its pod: %v", err)
	}

	t.Run("secret of another node's pod", func(t *testing.T) {
		_, err := n1.CoreV1().Secrets(namespace).Get(ctx, "secret-n2", metav1.GetOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "no relationship found between node 'n1' and this object") {
			t.Fatalf("got %v, want Forbidden with no relationship", err)
		}
	})
	t.Run("list secrets", func(t *testing.T) {
		_, err := n1.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("got %v, want Forbidden", err)
		}
	})
	t.Run("pods of its node", func(t *testing.T) {
		if _, err := n1.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"}); err != nil {
			t.Fatalf("list with spec.nodeName=n1: %v", err)
		}
		if _, err := n1.CoreV1().Pods(namespace).Get(ctx, "pod-n1", metav1.GetOptions{}); err != nil {
			t.Fatalf("get own pod: %v", err)
		}
		_, err := n1.CoreV1().Pods(namespace).Get(ctx, "pod-n2", metav1.GetOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("get pod of n2: %v, want Forbidden", err)
		}
		_, err = n1.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "can only list/watch pods with spec.nodeName field selector") {
			t.Fatalf("list all pods: %v, want Forbidden", err)
		}
	})
	t.Run("node objects", func(t *testing.T) {
		_, err := n1.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "node 'n1' cannot read 'n2', only its own Node object") {
			t.Fatalf("get node n2: %v, want Forbidden", err)
		}
		patch := []byte(`{"metadata":{"labels":{"example.com/team":"a"}}}`)
		_, err = n1.CoreV1().Nodes().Patch(ctx, "n2", types.MergePatchType, patch, metav1.PatchOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "n1" is not allowed to modify node "n2"`) {
			t.Fatalf("patch node n2: %v, want Forbidden", err)
		}
		if _, err := n1.CoreV1().Nodes().Patch(ctx, "n1", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatalf("patch own node: %v", err)
		}
		restricted := []byte(`{"metadata":{"labels":{"node-restriction.kubernetes.io/pool":"x"}}}`)
		_, err = n1.CoreV1().Nodes().Patch(ctx, "n1", types.MergePatchType, restricted, metav1.PatchOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "is not allowed to modify labels: node-restriction.kubernetes.io/pool") {
			t.Fatalf("set restricted label: %v, want Forbidden", err)
		}
	})
	t.Run("pod writes", func(t *testing.T) {
		// A pod not annotated as a mirror pod.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "sneaky"}, Spec: corev1.PodSpec{
			NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		_, err := n1.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "n1" can only create mirror pods`) {
			t.Fatalf("create non-mirror pod: %v, want Forbidden", err)
		}
		err = n1.CoreV1().Pods(namespace).Delete(ctx, "pod-n2", metav1.DeleteOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "n1" can only delete pods with spec.nodeName set to itself`) {
			t.Fatalf("delete pod of n2: %v, want Forbidden", err)
		}
	})
	t.Run("pod certificate requests", func(t *testing.T) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		stub, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		if err != nil {
			t.Fatal(err)
		}
		request := func(podName string) *certificatesv1.PodCertificateRequest {
			pod, err := admin.CoreV1().Pods(namespace).Get(ctx, podName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			node, err := admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sa, err := admin.CoreV1().ServiceAccounts(namespace).Get(ctx, pod.Spec.ServiceAccountName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: "pcr-" + podName}, Spec: certificatesv1.PodCertificateRequestSpec{
				SignerName: "example.com/pods", PodName: pod.Name, PodUID: pod.UID, ServiceAccountName: sa.Name, ServiceAccountUID: sa.UID,
				NodeName: "n1", NodeUID: node.UID, StubPKCS10Request: stub}}
		}
		pcrs := n1.CertificatesV1().PodCertificateRequests(namespace)
		// NodeRestriction reads pods, nodes and service accounts from
		// informers: retry what lag may refuse (not Forbidden).
		var own *certificatesv1.PodCertificateRequest
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			own, err = pcrs.Create(ctx, request("pod-n1"), metav1.CreateOptions{})
			return err == nil, nil
		}); err != nil {
			t.Fatalf("create for its own pod: %v", err)
		}
		_, err = pcrs.Create(ctx, request("pod-n2"), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `is not running on node "n1" named in the PodCertificateRequest`) {
			t.Fatalf("create for a pod of n2: %v, want Forbidden", err)
		}
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := pcrs.Get(ctx, own.Name, metav1.GetOptions{})
			return err == nil, nil
		}); err != nil {
			t.Fatal("node n1 never could get its own PodCertificateRequest")
		}
		if _, err := pcrs.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"}); err != nil {
			t.Fatalf("list with spec.nodeName=n1: %v", err)
		}
		if _, err := pcrs.List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "can only list/watch podcertificaterequests with nodeName field selector") {
			t.Fatalf("list all: %v, want Forbidden", err)
		}
		own.Status.Conditions = []metav1.Condition{{Type: "Denied", Status: metav1.ConditionTrue, Reason: "Self", LastTransitionTime: metav1.Now()}}
		if _, err := pcrs.UpdateStatus(ctx, own, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("node writing status: %v, want Forbidden", err)
		}
	})
}
