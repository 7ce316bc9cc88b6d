package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodLogThroughKubelet checks pods/log reaches the kubelet of the pod's
// node, at the node's advertised address and port, on kubelet's path.
func TestPodLogThroughKubelet(t *testing.T) {
	ns := newPodNamespace(t)
	ctx := context.Background()
	client := server.Client()
	var gotPath string
	kubelet := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path + "?" + r.URL.RawQuery
		fmt.Fprintln(w, "hello from the kubelet")
	}))
	defer kubelet.Close()
	host, port, _ := net.SplitHostPort(kubelet.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "fake-kubelet-"},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
		},
	}
	node, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	defer client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{})
	pods := client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, newPod("logs"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "logs"}, Target: corev1.ObjectReference{Name: node.Name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := pods.GetLogs("logs", &corev1.PodLogOptions{TailLines: ptrTo[int64](5)}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("pods/log: %v", err)
	}
	if string(out) != "hello from the kubelet\n" {
		t.Errorf("log = %q", out)
	}
	if want := "/containerLogs/" + ns + "/logs/app?tailLines=5"; gotPath != want {
		t.Errorf("kubelet saw %q, want %q", gotPath, want)
	}
}

func ptrTo[T any](v T) *T { return &v }
