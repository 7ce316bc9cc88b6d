package datasource

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

const doc = `
apiVersion: v1
kind: Service
metadata: {namespace: ns, name: svc}
spec:
  clusterIPs: [10.250.0.1]
  sessionAffinity: ClientIP
  ports: [{name: a, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {namespace: ns, name: svc-1, labels: {kubernetes.io/service-name: svc}}
addressType: IPv4
ports: [{name: a, port: 8080}, {name: b}]
endpoints:
- addresses: [10.244.0.1, 10.244.0.99]
- addresses: [10.244.0.2]
  conditions: {ready: false}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {namespace: ns, name: fqdn, labels: {kubernetes.io/service-name: svc}}
addressType: FQDN
ports: [{name: a, port: 80}]
endpoints: [{addresses: [example.com]}]
`

func TestConvert(t *testing.T) {
	objs, err := DecodeYAML(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ServiceFromKube(objs.Services[0])
	if err != nil {
		t.Fatal(err)
	}
	if svc.AffinityTimeout != 3*time.Hour || len(svc.Ports) != 1 || svc.Ports[0].Protocol != tables.TCP {
		t.Errorf("service: %+v (want the 10800s default affinity and TCP)", svc)
	}
	_, bs, err := BackendsFromKube(objs.EndpointSlices[0])
	if err != nil {
		t.Fatal(err)
	}
	// The port without a number is skipped, only the first address is used,
	// unset conditions read as ready and serving.
	if len(bs) != 2 || bs[0].Addr.String() != "10.244.0.1:8080" || !bs[0].Ready || !bs[0].Serving ||
		bs[1].Ready || bs[1].Serving || bs[1].Terminating {
		t.Errorf("backends: %+v", bs)
	}
	if _, bs, err := BackendsFromKube(objs.EndpointSlices[1]); err != nil || len(bs) != 0 {
		t.Errorf("FQDN slice: %v %v, want nothing", bs, err)
	}
	objs.EndpointSlices[0].Labels = nil
	if _, _, err := BackendsFromKube(objs.EndpointSlices[0]); !errors.Is(err, ErrNoServiceName) {
		t.Errorf("unlabelled slice: %v", err)
	}
	// Apply skips the bad slice and still applies the rest.
	tb := tables.New(tables.Node{})
	if err := Apply(tb, objs); err == nil {
		t.Error("Apply: want the unlabelled slice reported")
	}
	if len(tb.Services()) != 1 {
		t.Error("Apply did not apply the service")
	}
	if _, err := DecodeYAML(strings.NewReader("apiVersion: v1\nkind: Pod\n")); err == nil {
		t.Error("a Pod: want an error")
	}
}
