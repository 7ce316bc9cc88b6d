package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// upHAConfig is three control-plane nodes on addresses of their own.
const upHAConfig = `apiVersion: skiff.dev/v1alpha1
kind: Cluster
name: e2eha
nodes:
- role: control-plane
- role: control-plane
- role: control-plane
networking:
  nodeSubnet: 172.31.233.0/24
  podSubnet: 10.248.0.0/16
  serviceSubnet: 10.97.0.0/16
`

// haNodes are upHAConfig's nodes and their addresses.
var haNodes = []struct{ name, ip string }{
	{"e2eha-control-plane", "172.31.233.2"},
	{"e2eha-control-plane2", "172.31.233.3"},
	{"e2eha-control-plane3", "172.31.233.4"},
}

// TestUpHA runs `skiff up` with three control-plane nodes, checks the
// etcd members, the kubernetes Service's endpoints and the API address,
// then kills -9 every process of the node holding the controller
// manager's Lease while a writer creates ConfigMaps through the API
// address: writes resume, the leaders move, no acknowledged write is lost,
// and a second `skiff up` brings the node back into the etcd cluster.
func TestUpHA(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skiff up needs root")
	}
	c := newUpTestCluster(t, "e2eha", "skh", upHAConfig)
	cdir := filepath.Join(c.state, "e2eha")
	kubeconfig := c.kubeconfig
	skiff, up := c.skiff, c.up

	up(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://172.31.233.254:6443" {
		t.Errorf("the admin kubeconfig's server is %s, want the API address https://172.31.233.254:6443", cfg.Host)
	}
	cfg.Timeout = 5 * time.Second
	client := kubernetes.NewForConfigOrDie(cfg)
	etcdTLS := etcdClientTLS(t, cdir)
	dump := func() {
		for _, n := range haNodes {
			for _, comp := range []string{"etcd", "server"} {
				data, _ := os.ReadFile(filepath.Join(cdir, "nodes", n.name, "logs", comp+".log"))
				lines := strings.Split(string(data), "\n")
				t.Logf("%s %s log (tail):\n%s", n.name, comp, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
		data, _ := os.ReadFile(filepath.Join(cdir, "logs", "api-balancer.log"))
		t.Logf("api-balancer log:\n%s", data)
	}

	t.Run("three etcd members, three API servers behind the kubernetes Service", func(t *testing.T) {
		for _, n := range haNodes {
			if err := etcdHealthy(etcdTLS, n.ip); err != nil {
				t.Errorf("etcd member on %s: %v", n.name, err)
			}
		}
		pollE2E(t, 30*time.Second, "the kubernetes EndpointSlice listing the three API servers", func(ctx context.Context) (bool, error) {
			s, err := client.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return sameStrings(sliceAddresses(s), []string{haNodes[0].ip, haNodes[1].ip, haNodes[2].ip}), nil
		})
		out, err := skiff("kubectl", "--kubeconfig", kubeconfig, "get", "endpointslice", "kubernetes")
		if err != nil || !strings.Contains(out, "172.31.233.2,172.31.233.3,172.31.233.4") {
			t.Errorf("kubectl get endpointslice kubernetes: %v\n%s", err, out)
		}
	})

	// The node whose server took the controller manager's Lease.
	acquired := regexp.MustCompile(`Successfully acquired lease.*lock="kube-system/skiff-controller-manager"`)
	victim := -1
	for i, n := range haNodes {
		data, _ := os.ReadFile(filepath.Join(cdir, "nodes", n.name, "logs", "server.log"))
		if acquired.Match(data) {
			victim = i
		}
	}
	if victim < 0 {
		dump()
		t.Fatal("no server log says it acquired kube-system/skiff-controller-manager")
	}
	vname := haNodes[victim].name
	t.Logf("killing %s, which holds the controller manager's Lease", vname)
	holders := map[string]string{}
	for _, l := range []string{"skiff-controller-manager", "skiff-scheduler"} {
		lease, err := client.CoordinationV1().Leases("kube-system").Get(context.Background(), l, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		holders[l] = *lease.Spec.HolderIdentity
	}
	schedOnVictim := regexp.MustCompile(`Successfully acquired lease.*lock="kube-system/skiff-scheduler"`).Match(
		must1(os.ReadFile(filepath.Join(cdir, "nodes", vname, "logs", "server.log"))))

	// The writer creates ConfigMaps through the API address until told to
	// stop, recording every create the API acknowledged and when.
	w := &haWriter{client: client}
	writerCtx, stopWriter := context.WithCancel(context.Background())
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); w.run(writerCtx) }()
	defer func() { stopWriter(); <-writerDone }()
	pollE2E(t, 20*time.Second, "50 acknowledged writes before the kill", func(context.Context) (bool, error) {
		return w.acked() >= 50, nil
	})

	t.Logf("writes before the kill: %.0f/s", w.rate(time.Time{}, time.Now()))
	killed := time.Now()
	for _, comp := range []string{"proxy", "kubelet", "dns", "server", "etcd"} {
		killPIDFile(t, filepath.Join(cdir, "nodes", vname, "run", comp+".pid"))
	}
	ackedAtKill := w.acked()

	t.Run("writes go on through the API address", func(t *testing.T) {
		pollE2E(t, 15*time.Second, "a write acknowledged after the kill", func(context.Context) (bool, error) {
			return w.lastAck().After(killed), nil
		})
		resumed := w.firstAckAfter(killed).Sub(killed)
		pollE2E(t, 20*time.Second, "100 more acknowledged writes", func(context.Context) (bool, error) {
			return w.acked() >= ackedAtKill+100, nil
		})
		t.Logf("writes resumed %s after the kill; %d failed writes in all; %.0f/s since", resumed.Round(time.Millisecond), w.failures(),
			w.rate(w.firstAckAfter(killed), time.Now()))
	})

	t.Run("leaders move within the lease duration", func(t *testing.T) {
		for _, l := range []string{"skiff-controller-manager", "skiff-scheduler"} {
			moved := l == "skiff-controller-manager" || schedOnVictim
			var lease *coordinationv1.Lease
			// A new holder may take a Lease once its duration has passed
			// since the last renewal, trying every retry period (2s).
			pollE2E(t, 20*time.Second, "Lease "+l+" held by a live server", func(ctx context.Context) (bool, error) {
				var err error
				lease, err = client.CoordinationV1().Leases("kube-system").Get(ctx, l, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				renewed := lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(killed.Add(time.Second))
				return renewed && (!moved || *lease.Spec.HolderIdentity != holders[l]), nil
			})
			if !moved {
				t.Logf("Lease %s: held by %s on a surviving node, still renewed", l, holders[l])
				continue
			}
			duration := 15 * time.Second
			if lease.Spec.LeaseDurationSeconds != nil {
				duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
			}
			if lease.Spec.AcquireTime == nil {
				t.Fatalf("Lease %s has no acquireTime", l)
			}
			took := lease.Spec.AcquireTime.Sub(killed)
			// client-go's candidates time a Lease from when they saw its
			// last renewal (up to a retry period, 2s, after it) and try
			// again every retry period: the takeover is due within the
			// duration and two retry periods of the kill, plus the
			// requests' own time on a busy host and second-granular times.
			if bound := duration + 2*2*time.Second + 3*time.Second; took > bound {
				t.Errorf("Lease %s moved %s after the kill, over its %s duration, two retry periods and 3s (%s)", l, took.Round(time.Millisecond), duration, bound)
			}
			t.Logf("Lease %s: moved from %s to %s %s after the kill (lease duration %s)", l, holders[l], *lease.Spec.HolderIdentity, took.Round(time.Millisecond), duration)
		}
	})

	stopWriter()
	<-writerDone
	t.Run("no acknowledged write is lost", func(t *testing.T) {
		list, err := client.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{LabelSelector: "e2eha=writer"})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, cm := range list.Items {
			have[cm.Name] = true
		}
		var lost []string
		for _, name := range w.names() {
			if !have[name] {
				lost = append(lost, name)
			}
		}
		if len(lost) > 0 {
			t.Errorf("%d of %d acknowledged ConfigMaps are missing: %v", len(lost), len(w.names()), lost)
		}
		t.Logf("%d acknowledged writes, all present; %d failed", len(w.names()), w.failures())
	})

	t.Run("skiff up again brings the node back", func(t *testing.T) {
		up(t)
		for _, n := range haNodes {
			if err := etcdHealthy(etcdTLS, n.ip); err != nil {
				t.Errorf("etcd member on %s after the second skiff up: %v", n.name, err)
			}
		}
		one := rest.CopyConfig(cfg)
		one.Host = "https://" + haNodes[victim].ip + ":6443"
		if _, err := kubernetes.NewForConfigOrDie(one).Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background()); err != nil {
			t.Errorf("%s's API server /readyz: %v", vname, err)
		}
		// The rejoined member has every write, as a read through its own
		// server (quorum reads go to etcd) shows.
		if _, err := kubernetes.NewForConfigOrDie(one).CoreV1().ConfigMaps("default").Get(context.Background(), w.names()[len(w.names())-1], metav1.GetOptions{}); err != nil {
			t.Errorf("the last acknowledged ConfigMap through %s: %v", vname, err)
		}
		pollE2E(t, 30*time.Second, "the kubernetes EndpointSlice listing the three API servers again", func(ctx context.Context) (bool, error) {
			s, err := client.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return sameStrings(sliceAddresses(s), []string{haNodes[0].ip, haNodes[1].ip, haNodes[2].ip}), nil
		})
		pollE2E(t, 60*time.Second, vname+" Ready", func(ctx context.Context) (bool, error) {
			n, err := client.CoreV1().Nodes().Get(ctx, vname, metav1.GetOptions{})
			return err == nil && nodeIsReady(n), err
		})
	})

	if t.Failed() {
		dump()
	}
	t.Run("skiff down leaves nothing", func(t *testing.T) { c.downLeavesNothing(t, "172.31.233.") })
}

// haWriter creates ConfigMaps one after another, recording those the API
// acknowledged.
type haWriter struct {
	client kubernetes.Interface
	mu     sync.Mutex
	ok     []string
	okAt   []time.Time
	failed int
}

func (w *haWriter) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("w-%06d", i)
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"e2eha": "writer"}},
			Data:       map[string]string{"i": fmt.Sprint(i)},
		}
		reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := w.client.CoreV1().ConfigMaps("default").Create(reqCtx, cm, metav1.CreateOptions{})
		cancel()
		w.mu.Lock()
		if err == nil {
			w.ok, w.okAt = append(w.ok, name), append(w.okAt, time.Now())
		} else if ctx.Err() == nil {
			w.failed++
		}
		w.mu.Unlock()
	}
}

func (w *haWriter) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ok)
}

func (w *haWriter) failures() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

func (w *haWriter) names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ok...)
}

func (w *haWriter) lastAck() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.okAt) == 0 {
		return time.Time{}
	}
	return w.okAt[len(w.okAt)-1]
}

// rate is the acknowledged writes per second between from (zero: the
// first) and to.
func (w *haWriter) rate(from, to time.Time) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, at := range w.okAt {
		if from.IsZero() {
			from = at
		}
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	if d := to.Sub(from).Seconds(); d > 0 {
		return float64(n) / d
	}
	return 0
}

func (w *haWriter) firstAckAfter(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.okAt {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// etcdClientTLS is a client of the cluster's etcd members, with the
// certificate their API servers present.
func etcdClientTLS(t *testing.T, cdir string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(must1(os.ReadFile(filepath.Join(cdir, "pki", "ca.crt")))) {
		t.Fatal("no CA certificate")
	}
	pki := filepath.Join(cdir, "nodes", haNodes[0].name, "pki-etcd")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "etcd-client.crt"), filepath.Join(pki, "etcd-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
}

// etcdHealthy asks the etcd member at ip for its /health, which passes
// once it is part of a cluster with a leader.
func etcdHealthy(cfg *tls.Config, ip string) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get("https://" + ip + ":2379/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("/health: %s %s", resp.Status, body)
	}
	return nil
}

func sliceAddresses(s *discoveryv1.EndpointSlice) []string {
	var out []string
	for _, e := range s.Endpoints {
		out = append(out, e.Addresses...)
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s] == 0 {
			return false
		}
		seen[s]--
	}
	return true
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
