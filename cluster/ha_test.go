package cluster

import (
	"slices"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/apis/cluster/v1alpha1"
)

func TestHAPlan(t *testing.T) {
	tests := []struct {
		name           string
		controlPlanes  int
		nodes          int
		family         string
		wantURL        string
		wantComponents []string
		wantEtcdFlags  bool
	}{
		{name: "one control plane keeps embedded etcd", controlPlanes: 1, nodes: 2,
			wantURL: "https://172.30.0.2:6443", wantComponents: []string{"server", "dns", "kubelet", "proxy"}},
		{name: "three control planes", controlPlanes: 3, nodes: 3,
			wantURL: "https://172.30.0.254:6443", wantComponents: []string{"etcd", "server", "dns", "kubelet", "proxy"}, wantEtcdFlags: true},
		{name: "three control planes, IPv6", controlPlanes: 3, nodes: 4, family: "ipv6",
			wantURL: "https://[fd00:5c1f:0:1:ffff:ffff:ffff:fffe]:6443", wantComponents: []string{"etcd", "server", "dns", "kubelet", "proxy"}, wantEtcdFlags: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := v1alpha1.Default(tc.controlPlanes, tc.nodes)
			if tc.family != "" {
				cfg.Networking = v1alpha1.Networking{IPFamily: v1alpha1.IPFamily(tc.family)}
				v1alpha1.SetDefaults_Cluster(cfg)
			}
			c, err := New(cfg, Options{Binary: "/skiff", StateRoot: "/s"})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.serverURL(); got != tc.wantURL {
				t.Errorf("serverURL() = %s, want %s", got, tc.wantURL)
			}
			if c.ha() {
				if err := c.checkAPIAddress(); err != nil {
					t.Errorf("checkAPIAddress: %v", err)
				}
			}
			cp := c.controlPlanes()[0]
			if got := c.components(cp); !slices.Equal(got, tc.wantComponents) {
				t.Errorf("components = %v, want %v", got, tc.wantComponents)
			}
			s, err := c.spec(nil, cp, componentServer)
			if err != nil {
				t.Fatal(err)
			}
			argv := strings.Join(s.Argv, "\x00")
			if got := strings.Contains(argv, "--etcd-servers"); got != tc.wantEtcdFlags {
				t.Errorf("server has --etcd-servers: %v, want %v (%s)", got, tc.wantEtcdFlags, argv)
			}
			if !tc.wantEtcdFlags {
				return
			}
			e, err := c.spec(nil, cp, componentEtcd)
			if err != nil {
				t.Fatal(err)
			}
			initial := e.Argv[slices.Index(e.Argv, "--initial-cluster")+1]
			if n := strings.Count(initial, "=https://"); n != tc.controlPlanes {
				t.Errorf("--initial-cluster %s has %d members, want %d", initial, n, tc.controlPlanes)
			}
			// Each daemon's marker names it alone (pid files are checked
			// against it).
			if strings.Contains(strings.Join(e.Argv, "\x00"), s.Marker) || strings.Contains(argv, e.Marker) {
				t.Errorf("etcd marker %s and server marker %s are in each other's command lines", e.Marker, s.Marker)
			}
		})
	}
}

func TestCheckAPIAddress(t *testing.T) {
	cfg := v1alpha1.Default(3, 3)
	cfg.Networking.NodeSubnet = "172.30.0.0/29" // .2-.6 for nodes, .6 the API's
	cfg.Nodes = append(cfg.Nodes, v1alpha1.Node{Role: v1alpha1.WorkerRole}, v1alpha1.Node{Role: v1alpha1.WorkerRole})
	v1alpha1.SetDefaults_Cluster(cfg)
	c, err := New(cfg, Options{Binary: "/skiff", StateRoot: "/s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.checkAPIAddress(); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("checkAPIAddress with a node on the API address: %v, want a too-small error", err)
	}
}
