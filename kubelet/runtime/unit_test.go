package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"A": "x", "EMPTY": ""}
	for _, tc := range []struct{ in, want string }{
		{"$(A)", "x"},
		{"pre-$(A)-post", "pre-x-post"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$x"},
		{"$(MISSING)", "$(MISSING)"},
		{"$(EMPTY)|", "|"},
		{"$(A", "$(A"},
		{"$A", "$A"},
		{"trailing$", "trailing$"},
		{"$()", "$()"},
		{"no vars", "no vars"},
	} {
		if got := expandVars(tc.in, vars); got != tc.want {
			t.Errorf("expandVars(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func resources(req, lim string) corev1.ResourceRequirements {
	parse := func(s string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for _, kv := range strings.Fields(s) {
			k, v, _ := strings.Cut(kv, "=")
			l[corev1.ResourceName(k)] = resource.MustParse(v)
		}
		return l
	}
	return corev1.ResourceRequirements{Requests: parse(req), Limits: parse(lim)}
}

func TestComputePodQOSClass(t *testing.T) {
	for _, tc := range []struct {
		name       string
		containers []corev1.ResourceRequirements
		init       []corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		{"nothing", []corev1.ResourceRequirements{{}}, nil, corev1.PodQOSBestEffort},
		{"only other resources", []corev1.ResourceRequirements{resources("ephemeral-storage=1Gi", "")}, nil, corev1.PodQOSBestEffort},
		{"equal", []corev1.ResourceRequirements{resources("cpu=1 memory=1Gi", "cpu=1 memory=1Gi")}, nil, corev1.PodQOSGuaranteed},
		// Without API defaulting (requests from limits) upstream counts this Burstable too.
		{"limits only, undefaulted", []corev1.ResourceRequirements{resources("", "cpu=1 memory=1Gi")}, nil, corev1.PodQOSBurstable},
		{"request below limit", []corev1.ResourceRequirements{resources("cpu=500m memory=1Gi", "cpu=1 memory=1Gi")}, nil, corev1.PodQOSBurstable},
		{"memory limit only", []corev1.ResourceRequirements{resources("", "memory=1Gi")}, nil, corev1.PodQOSBurstable},
		{"one container unlimited", []corev1.ResourceRequirements{resources("", "cpu=1 memory=1Gi"), {}}, nil, corev1.PodQOSBurstable},
		{"init container requests", []corev1.ResourceRequirements{{}}, []corev1.ResourceRequirements{resources("cpu=100m", "")}, corev1.PodQOSBurstable},
		{"zero requests ignored", []corev1.ResourceRequirements{resources("cpu=0", "")}, nil, corev1.PodQOSBestEffort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			for i, r := range tc.containers {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprint("c", i), Resources: r})
			}
			for i, r := range tc.init {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Name: fmt.Sprint("i", i), Resources: r})
			}
			if got := ComputePodQOSClass(pod); got != tc.want {
				t.Errorf("QoS = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPodDNS(t *testing.T) {
	host := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(host, []byte("# c\nnameserver 192.0.2.53\nsearch corp.example.\noptions ndots:2 timeout:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cluster := DNSSettings{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", ResolvConf: host}
	for _, tc := range []struct {
		name     string
		policy   corev1.DNSPolicy
		hostNet  bool
		cfg      *corev1.PodDNSConfig
		settings DNSSettings
		want     string
		warn     string
	}{
		{name: "cluster first", policy: corev1.DNSClusterFirst, settings: cluster,
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{name: "cluster first on host network is Default", policy: corev1.DNSClusterFirst, hostNet: true, settings: cluster,
			want: "search corp.example\nnameserver 192.0.2.53\noptions ndots:2 timeout:1\n"},
		{name: "with host net", policy: corev1.DNSClusterFirstWithHostNet, hostNet: true, settings: cluster,
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{name: "no cluster DNS falls back", policy: corev1.DNSClusterFirst, settings: DNSSettings{ClusterDomain: "cluster.local", ResolvConf: host},
			want: "search corp.example\nnameserver 192.0.2.53\noptions ndots:2 timeout:1\n", warn: "MissingClusterDNS"},
		{name: "none with config", policy: corev1.DNSNone, settings: cluster,
			cfg:  &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("1")}, {Name: "edns0"}}},
			want: "search a.example\nnameserver 1.1.1.1\noptions edns0 ndots:1\n"},
		{name: "config merges", policy: corev1.DNSClusterFirst, settings: cluster,
			cfg:  &corev1.PodDNSConfig{Nameservers: []string{"10.96.0.10", "1.1.1.1", "2.2.2.2", "3.3.3.3"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}}},
			want: "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\nnameserver 1.1.1.1\nnameserver 2.2.2.2\noptions ndots:2\n",
			warn: "Nameserver limits were exceeded"},
		{name: "default without resolv.conf", policy: corev1.DNSDefault, settings: DNSSettings{},
			want: "search .\nnameserver 127.0.0.1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			pod.Namespace = "ns1"
			pod.Spec.DNSPolicy, pod.Spec.HostNetwork, pod.Spec.DNSConfig = tc.policy, tc.hostNet, tc.cfg
			got, warnings, err := PodDNS(pod, tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, tc.want)
			}
			if w := strings.Join(warnings, ";"); !strings.Contains(w, tc.warn) || (tc.warn == "" && w != "") {
				t.Errorf("warnings %q, want %q", w, tc.warn)
			}
		})
	}
}

func TestShouldPull(t *testing.T) {
	for _, tc := range []struct {
		policy  corev1.PullPolicy
		image   string
		present bool
		pull    bool
		reason  string
	}{
		{corev1.PullAlways, "busybox:1", true, true, ""},
		{corev1.PullIfNotPresent, "busybox:1", true, false, ""},
		{corev1.PullIfNotPresent, "busybox:1", false, true, ""},
		{corev1.PullNever, "busybox:1", true, false, ""},
		{corev1.PullNever, "busybox:1", false, false, ReasonErrImageNeverPull},
		{"", "busybox", true, true, ""},
		{"", "busybox:latest", true, true, ""},
		{"", "busybox:1", true, false, ""},
	} {
		pull, err := ShouldPull(tc.policy, tc.image, tc.present)
		if pull != tc.pull || (tc.reason == "") != (err == nil) || (err != nil && !isReason(err, tc.reason)) {
			t.Errorf("ShouldPull(%q, %q, %v) = %v, %v; want %v, %q", tc.policy, tc.image, tc.present, pull, err, tc.pull, tc.reason)
		}
	}
	if _, err := NormalizeImageName("Bad:Name:"); !isReason(err, ReasonInvalidImageName) {
		t.Errorf("invalid name: %v", err)
	}
	if n, _ := NormalizeImageName("busybox"); n != "docker.io/library/busybox:latest" {
		t.Errorf("normalized busybox = %s", n)
	}
}

func TestContainerArgs(t *testing.T) {
	ep, cmd := []string{"/ep"}, []string{"cmd1"}
	for _, tc := range []struct {
		command, args []string
		want          string
	}{
		{nil, nil, "[/ep cmd1]"},
		{nil, []string{"a"}, "[/ep a]"},
		{[]string{"/c"}, nil, "[/c]"},
		{[]string{"/c"}, []string{"a"}, "[/c a]"},
	} {
		if got := fmt.Sprint(containerArgs(tc.command, tc.args, ep, cmd)); got != tc.want {
			t.Errorf("containerArgs(%v, %v) = %s, want %s", tc.command, tc.args, got, tc.want)
		}
	}
}

func TestHostsFile(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Spec.HostAliases = []corev1.HostAlias{{IP: "192.0.2.9", Hostnames: []string{"a", "b"}}}
	got, err := HostsFile(pod, []string{"10.244.0.5"}, "web", "sub.ns.svc.cluster.local", "")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n10.244.0.5\tweb.sub.ns.svc.cluster.local\tweb\n\n# Entries added by HostAliases.\n192.0.2.9\ta\tb\n"
	if string(got) != want {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
	}
}

func TestCPUConversions(t *testing.T) {
	for _, tc := range []struct {
		milli  int64
		shares uint64
		quota  int64
	}{{0, 2, 0}, {1, 2, 1000}, {100, 102, 10000}, {500, 512, 50000}, {2000, 2048, 200000}} {
		if s, q := milliCPUToShares(tc.milli), milliCPUToQuota(tc.milli); s != tc.shares || q != tc.quota {
			t.Errorf("%dm: shares %d quota %d, want %d %d", tc.milli, s, q, tc.shares, tc.quota)
		}
	}
}
