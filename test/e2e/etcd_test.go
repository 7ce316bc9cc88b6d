package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/certs"
)

// TestKubeAPIServerOnExternalEtcd runs `skiff etcd` as its own process and
// `skiff kube-apiserver --etcd-servers` on it, with kube-apiserver's flags
// as envtest passes them, and checks the stored bytes use kube-apiserver's
// key layout and protobuf encoding.
func TestKubeAPIServerOnExternalEtcd(t *testing.T) {
	dir := t.TempDir()
	clientPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcd := start(t, "etcd", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--unsafe-no-fsync=true")
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("skiff etcd not healthy: %v\n%s", err, etcd.out.String())
	}

	pki := filepath.Join(dir, "pki")
	ca, err := certs.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	adminCert, adminKey := filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key")
	if err := ca.EnsureClient(adminCert, adminKey, "admin", []string{"system:masters"}); err != nil {
		t.Fatal(err)
	}
	saKey, saPub := filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")
	if err := certs.EnsureKey(saKey); err != nil {
		t.Fatal(err)
	}
	if err := certs.EnsurePublicKey(saKey, saPub); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	api := start(t, "kube-apiserver",
		"--allow-privileged=true", "--authorization-mode=RBAC", "--bind-address=127.0.0.1",
		"--cert-dir="+pki, "--client-ca-file="+ca.CertFile, "--disable-admission-plugins=ServiceAccount",
		"--etcd-servers="+etcdURL, "--secure-port="+strconv.Itoa(apiPort),
		"--service-account-issuer="+url+"/", "--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey, "--service-cluster-ip-range=10.0.0.0/24")
	waitReady(t, url, api)

	client := kubernetes.NewForConfigOrDie(&rest.Config{
		Host:            url,
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(pki, "apiserver.crt"), CertFile: adminCert, KeyFile: adminKey},
	})
	ctx := context.Background()
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "stored"}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create through kube-apiserver on external etcd: %v", err)
	}

	ec, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	resp, err := ec.Get(ctx, "/registry/configmaps/default/stored")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("key /registry/configmaps/default/stored not in etcd")
	}
	want := []byte("k8s\x00\n\x0f\n\x02v1\x12\tConfigMap")
	if !bytes.HasPrefix(resp.Kvs[0].Value, want) {
		t.Fatalf("stored value starts %q, want kube's protobuf envelope %q", resp.Kvs[0].Value[:min(len(resp.Kvs[0].Value), 32)], want)
	}
	for _, ns := range systemNamespaces {
		if r, err := ec.Get(ctx, "/registry/namespaces/"+ns); err != nil || len(r.Kvs) != 1 {
			t.Errorf("namespace %s not stored at /registry/namespaces/%s (err %v)", ns, ns, err)
		}
	}
	api.stop(t)

}

var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}
