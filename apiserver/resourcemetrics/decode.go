package resourcemetrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// The kubelet's resource metrics (upstream's /metrics/resource) read here.
const (
	nodeCPUMetric        = "node_cpu_usage_seconds_total"
	nodeMemoryMetric     = "node_memory_working_set_bytes"
	containerCPUMetric   = "container_cpu_usage_seconds_total"
	containerMemMetric   = "container_memory_working_set_bytes"
	containerStartMetric = "container_start_time_seconds"
)

// point is one sample of a node or container: the cumulative CPU counter,
// the memory working set, and when the CPU counter was read.
type point struct {
	timestamp time.Time
	// startTime is when the container started (containers only).
	startTime time.Time
	// cpu is the cumulative CPU time used, in core-nanoseconds.
	cpu uint64
	// memory is the working set, in bytes.
	memory uint64
}

// sample is what one scrape of one kubelet returned: its node's point, nil
// when incomplete, and the complete points of each pod's containers.
type sample struct {
	node *point
	pods map[types.NamespacedName]map[string]point
}

// decode reads the kubelet's /metrics/resource in the Prometheus text
// format. As metrics-server, it takes the CPU sample's timestamp as the
// point's, and drops a node or container whose CPU counter, working set or
// timestamp is missing or zero (the kubelet reports zeros for stats it does
// not have yet), and pods left with no container.
func decode(r io.Reader) (*sample, error) {
	var node point
	pods := map[types.NamespacedName]map[string]*point{}
	container := func(labels map[string]string) *point {
		name, pod, ns := labels["container"], labels["pod"], labels["namespace"]
		if name == "" || pod == "" || ns == "" {
			return nil
		}
		key := types.NamespacedName{Namespace: ns, Name: pod}
		if pods[key] == nil {
			pods[key] = map[string]*point{}
		}
		p := pods[key][name]
		if p == nil {
			p = &point{}
			pods[key][name] = p
		}
		return p
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		s, err := parseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if s == nil || math.IsNaN(s.value) || math.IsInf(s.value, 0) || s.value < 0 {
			continue
		}
		switch s.name {
		case nodeCPUMetric:
			node.cpu, node.timestamp = seconds(s.value), s.timestamp
		case nodeMemoryMetric:
			node.memory = uint64(s.value)
		case containerCPUMetric:
			if p := container(s.labels); p != nil {
				p.cpu, p.timestamp = seconds(s.value), s.timestamp
			}
		case containerMemMetric:
			if p := container(s.labels); p != nil {
				p.memory = uint64(s.value)
			}
		case containerStartMetric:
			if p := container(s.labels); p != nil {
				p.startTime = time.Unix(0, int64(s.value*1e9))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read resource metrics: %w", err)
	}
	out := &sample{pods: map[types.NamespacedName]map[string]point{}}
	if node.complete() {
		out.node = &node
	}
	for key, containers := range pods {
		for name, p := range containers {
			if !p.complete() {
				continue
			}
			if out.pods[key] == nil {
				out.pods[key] = map[string]point{}
			}
			out.pods[key][name] = *p
		}
	}
	return out, nil
}

func (p *point) complete() bool {
	return !p.timestamp.IsZero() && p.cpu != 0 && p.memory != 0
}

// seconds converts a counter of seconds to nanoseconds.
func seconds(v float64) uint64 { return uint64(v * 1e9) }

// series is one parsed sample line.
type series struct {
	name      string
	labels    map[string]string
	value     float64
	timestamp time.Time
}

// parseLine parses one line of the Prometheus text exposition format:
// `name{label="value",...} value [timestamp-ms]`. Comments and blank lines
// give nil.
func parseLine(line string) (*series, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return nil, nil
	}
	s := &series{}
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return nil, fmt.Errorf("no value in %q", line)
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		labels, rest, err := parseLabels(line[1:])
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", s.name, err)
		}
		s.labels, line = labels, rest
	}
	fields := strings.Fields(line)
	if len(fields) < 1 || len(fields) > 2 {
		return nil, fmt.Errorf("metric %s: want a value and an optional timestamp, got %q", s.name, line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return nil, fmt.Errorf("metric %s: value: %w", s.name, err)
	}
	s.value = v
	if len(fields) == 2 {
		ms, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: timestamp: %w", s.name, err)
		}
		s.timestamp = time.UnixMilli(ms)
	}
	return s, nil
}

// parseLabels parses `name="value",...}` and returns what follows the brace.
func parseLabels(in string) (map[string]string, string, error) {
	labels := map[string]string{}
	for {
		in = strings.TrimLeft(in, " \t")
		if in == "" {
			return nil, "", fmt.Errorf("unterminated label set")
		}
		if in[0] == '}' {
			return labels, in[1:], nil
		}
		eq := strings.IndexByte(in, '=')
		if eq <= 0 {
			return nil, "", fmt.Errorf("label without value in %q", in)
		}
		name := strings.TrimSpace(in[:eq])
		in = strings.TrimLeft(in[eq+1:], " \t")
		if in == "" || in[0] != '"' {
			return nil, "", fmt.Errorf("label %s: value not quoted", name)
		}
		var b strings.Builder
		i := 1
		for ; i < len(in) && in[i] != '"'; i++ {
			if in[i] != '\\' {
				b.WriteByte(in[i])
				continue
			}
			if i++; i == len(in) {
				break
			}
			switch in[i] {
			case 'n':
				b.WriteByte('\n')
			default: // \\ and \"
				b.WriteByte(in[i])
			}
		}
		if i >= len(in) {
			return nil, "", fmt.Errorf("label %s: unterminated value", name)
		}
		labels[name] = b.String()
		in = strings.TrimLeft(in[i+1:], " \t")
		if strings.HasPrefix(in, ",") {
			in = in[1:]
		}
	}
}
