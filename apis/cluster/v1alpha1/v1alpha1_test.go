package v1alpha1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	c := Default(1, 3)
	want := []struct {
		name string
		role NodeRole
	}{{"skiff-control-plane", ControlPlaneRole}, {"skiff-worker", WorkerRole}, {"skiff-worker2", WorkerRole}}
	if len(c.Nodes) != len(want) {
		t.Fatalf("nodes = %d, want %d", len(c.Nodes), len(want))
	}
	for i, w := range want {
		if c.Nodes[i].Name != w.name || c.Nodes[i].Role != w.role {
			t.Errorf("nodes[%d] = %s/%s, want %s/%s", i, c.Nodes[i].Name, c.Nodes[i].Role, w.name, w.role)
		}
	}
	n := c.Networking
	if n.PodSubnet != "10.244.0.0/16" || n.ServiceSubnet != "10.96.0.0/16" || n.NodeSubnet != "172.30.0.0/24" ||
		n.ClusterDomain != "cluster.local" || n.APIServerPort != 6443 || n.NodeMaskSizeIPv4 != 24 {
		t.Errorf("networking defaults = %+v", n)
	}
	if errs := ValidateCluster(c); len(errs) != 0 {
		t.Errorf("defaulted cluster invalid: %v", errs)
	}
	dual := &Cluster{Networking: Networking{IPFamily: DualStackFamily}}
	SetDefaults_Cluster(dual)
	if dual.Networking.PodSubnet != "10.244.0.0/16,fd00:10:244::/56" {
		t.Errorf("dual podSubnet = %q", dual.Networking.PodSubnet)
	}
	if errs := ValidateCluster(dual); len(errs) != 0 {
		t.Errorf("defaulted dual-stack cluster invalid: %v", errs)
	}
}

func TestDecode(t *testing.T) {
	const header = "apiVersion: skiff.dev/v1alpha1\nkind: Cluster\n"
	tests := []struct {
		name string
		doc  string
		// wantErr are substrings of the error; none means valid.
		wantErr []string
	}{
		{name: "minimal", doc: header},
		{name: "full", doc: header + `name: dev
nodes:
- role: control-plane
  resources: {cpu: "1", memory: 1Gi}
- role: worker
  name: big
  labels: {tier: web}
  kubeletExtraArgs: {v: "2"}
networking:
  podSubnet: 10.100.0.0/16
  serviceSubnet: 10.101.0.0/16
  clusterDomain: example.internal.
featureGates: {InPlacePodVerticalScaling: true}
apiServerExtraArgs: {v: "2"}
images: [/tmp/app.tar]
`},
		{name: "unknown field", doc: header + "nodez: []\n", wantErr: []string{`unknown field "nodez"`}},
		{name: "missing apiVersion", doc: "kind: Cluster\n", wantErr: []string{"apiVersion and kind are required"}},
		{name: "wrong apiVersion", doc: "apiVersion: skiff.dev/v1\nkind: Cluster\n", wantErr: []string{`apiVersion: Unsupported value: "skiff.dev/v1"`}},
		{name: "bad role", doc: header + "nodes: [{role: master}]\n", wantErr: []string{`nodes[0].role: Unsupported value: "master"`, "nodes: Required value: at least one node with role control-plane"}},
		{name: "duplicate names", doc: header + "nodes: [{name: a}, {name: a, role: worker}]\n", wantErr: []string{`nodes[1].name: Duplicate value: "a"`}},
		{name: "bad node name", doc: header + "nodes: [{name: Node_1}]\n", wantErr: []string{`nodes[0].name: Invalid value: "Node_1"`}},
		{name: "bad cluster name", doc: header + "name: My.Cluster\n", wantErr: []string{`name: Invalid value: "My.Cluster"`}},
		{name: "zero cpu", doc: header + "nodes: [{resources: {cpu: \"0\"}}]\n", wantErr: []string{"nodes[0].resources.cpu: Invalid value: \"0\": must be greater than zero"}},
		{name: "tiny memory", doc: header + "nodes: [{resources: {memory: 1Mi}}]\n", wantErr: []string{"nodes[0].resources.memory: Invalid value: \"1Mi\": must be at least 64Mi"}},
		{name: "bad label", doc: header + "nodes: [{labels: {\"-x\": y}}]\n", wantErr: []string{"nodes[0].labels: Invalid value: \"-x\""}},
		{name: "bad cidr", doc: header + "networking: {podSubnet: 10.244.0.0/33}\n", wantErr: []string{`networking.podSubnet: Invalid value: "10.244.0.0/33": "10.244.0.0/33" is not a valid CIDR`}},
		{name: "wrong family", doc: header + "networking: {serviceSubnet: \"fd00::/112\"}\n", wantErr: []string{"networking.serviceSubnet: Invalid value: \"fd00::/112\": \"fd00::/112\" must be an IPv4 CIDR"}},
		{name: "dual needs two", doc: header + "networking: {ipFamily: dual, podSubnet: 10.1.0.0/16}\n", wantErr: []string{"networking.podSubnet: Invalid value: \"10.1.0.0/16\": must hold 2 CIDR(s) for ipFamily dual"}},
		{name: "overlap", doc: header + "networking: {podSubnet: 10.96.0.0/12}\n", wantErr: []string{"networking.serviceSubnet: Invalid value: \"10.96.0.0/16\": overlaps networking.podSubnet 10.96.0.0/12"}},
		{name: "node subnet too small", doc: header + "nodes: [{}, {role: worker}, {role: worker}]\nnetworking: {nodeSubnet: 172.30.0.0/30}\n", wantErr: []string{"networking.nodeSubnet: Invalid value: \"172.30.0.0/30\": has room for 1 nodes, the cluster has 3"}},
		{name: "mask too short", doc: header + "networking: {nodeMaskSizeIPv4: 8}\n", wantErr: []string{"networking.nodeMaskSizeIPv4: Invalid value: 8: must be longer than the podSubnet prefix /16"}},
		{name: "pod subnet too small", doc: header + "nodes: [{}, {role: worker}, {role: worker}]\nnetworking: {podSubnet: 10.244.0.0/23}\n", wantErr: []string{"has room for 2 node podCIDRs of /24, the cluster has 3 nodes"}},
		{name: "bad port", doc: header + "networking: {apiServerPort: 70000}\n", wantErr: []string{"networking.apiServerPort: Invalid value: 70000"}},
		{name: "bad ip family", doc: header + "networking: {ipFamily: ipv5}\n", wantErr: []string{`networking.ipFamily: Unsupported value: "ipv5"`}},
		{name: "dashed extra arg", doc: header + "apiServerExtraArgs: {\"--v\": \"2\"}\n", wantErr: []string{"apiServerExtraArgs[--v]: Invalid value: \"--v\": must be a flag name without leading dashes"}},
		{name: "empty image", doc: header + "images: [\"\"]\n", wantErr: []string{"images[0]: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode([]byte(tt.doc))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if c.Name == "" || len(c.Nodes) == 0 {
					t.Errorf("not defaulted: %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode succeeded, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "skiff.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: skiff.dev/v1alpha1\nkind: Cluster\nnodes: [{role: boss}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": invalid cluster config: nodes[0].role") {
		t.Fatalf("Load error = %v, want it to start with the path and the field", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Load of a missing file = %v", err)
	}
}

func TestSampleIsValid(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "..", "config", "samples", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes) != 5 || c.Nodes[2].Name != "skiff-control-plane3" || c.Nodes[4].Name != "skiff-worker2" {
		t.Errorf("sample nodes = %+v", c.Nodes)
	}
}
