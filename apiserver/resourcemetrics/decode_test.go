package resourcemetrics

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestDecode(t *testing.T) {
	f, err := os.Open("testdata/resource-metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := decode(f)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	wantNode := &point{timestamp: time.UnixMilli(1700000000000), cpu: 357350000000, memory: 1262796800}
	if !reflect.DeepEqual(got.node, wantNode) {
		t.Errorf("node = %+v, want %+v", got.node, wantNode)
	}
	want := map[types.NamespacedName]map[string]point{
		{Namespace: "kube-system", Name: "coredns-55cb58b774-mv7wk"}: {
			"coredns": {timestamp: time.UnixMilli(1700000000125), startTime: time.Unix(1699900000, 0), cpu: 6773616838, memory: 15405056},
		},
		// Escapes in label values are undone.
		{Namespace: "default", Name: `quoted "name"\x`}: {
			"app": {timestamp: time.UnixMilli(1700000000125), cpu: 1500000000, memory: 2048},
		},
		// web-0's only container has a zero CPU counter: dropped, and the pod with it.
	}
	if !reflect.DeepEqual(got.pods, want) {
		t.Errorf("pods = %+v\nwant %+v", got.pods, want)
	}
}

func TestDecodeIncompleteAndInvalid(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantErr  string
		wantNode bool
	}{
		{name: "node without memory", in: "node_cpu_usage_seconds_total 1 1000\n"},
		{name: "node without timestamp", in: "node_cpu_usage_seconds_total 1\nnode_memory_working_set_bytes 10\n"},
		{name: "complete node", in: "node_cpu_usage_seconds_total 1 1000\nnode_memory_working_set_bytes 10 1000\n", wantNode: true},
		{name: "NaN ignored", in: "node_cpu_usage_seconds_total NaN 1000\nnode_memory_working_set_bytes 10 1000\n"},
		{name: "bad value", in: "node_cpu_usage_seconds_total one 1000\n", wantErr: "line 1: metric node_cpu_usage_seconds_total: value"},
		{name: "unterminated labels", in: `container_cpu_usage_seconds_total{container="a" 1 1000` + "\n", wantErr: "line 1"},
		{name: "unquoted label", in: `container_cpu_usage_seconds_total{container=a} 1 1000` + "\n", wantErr: "not quoted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got.node != nil) != tt.wantNode {
				t.Errorf("node = %+v, want present=%v", got.node, tt.wantNode)
			}
		})
	}
}

// BenchmarkDecode decodes one kubelet's answer for 110 pods (the kubelet's
// default maximum) of two containers each.
func BenchmarkDecode(b *testing.B) {
	var containers []container
	for i := 0; i < 110; i++ {
		for _, c := range []string{"app", "sidecar"} {
			containers = append(containers, container{ref: fmt.Sprintf("ns-%d/pod-%d/%s", i%7, i, c), cpu: 12.5 + float64(i), memory: 1 << 24, start: time.Unix(1700000000, 0)})
		}
	}
	text := metricsText(1700000000000, 1234.5, 1<<32, containers...)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := decode(strings.NewReader(text))
		if err != nil || len(s.pods) != 110 {
			b.Fatalf("decode: %d pods, %v", len(s.pods), err)
		}
	}
}
