package dns

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// query asks srv one question over proto ("udp" or "tcp"), with an EDNS0
// buffer size when bufsize is not 0.
func query(t testing.TB, proto, name string, qtype uint16, bufsize uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if bufsize != 0 {
		m.SetEdns0(bufsize, false)
	}
	c := &dns.Client{Net: proto, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, srv.Addr())
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], proto, err)
	}
	return r
}

// rrText is a record without its TTL and class: "name TYPE rdata".
func rrText(rr dns.RR) string {
	f := strings.Split(rr.String(), "\t")
	return f[0] + " " + strings.Join(f[3:], " ")
}

func rrTexts(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, rrText(rr))
	}
	slices.Sort(out)
	return out
}

// eventually polls cond until it holds or 20s pass.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	last := ""
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true,
		func(context.Context) (bool, error) {
			ok, got := cond()
			last = got
			return ok, nil
		})
	if err != nil {
		t.Fatalf("%s: still %s", what, last)
	}
}

// waitRcode polls until name/qtype gets rcode.
func waitRcode(t testing.TB, name string, qtype uint16, rcode int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s %s to be %s", name, dns.TypeToString[qtype], dns.RcodeToString[rcode]), func() (bool, string) {
		r := query(t, "udp", name, qtype, 0)
		return r.Rcode == rcode, dns.RcodeToString[r.Rcode]
	})
}

func createNamespace(t testing.TB, name string) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

func createService(t testing.TB, svc *corev1.Service) *corev1.Service {
	t.Helper()
	out, err := client.CoreV1().Services(svc.Namespace).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	return out
}

func createSlice(t testing.TB, es *discoveryv1.EndpointSlice) {
	t.Helper()
	if _, err := client.DiscoveryV1().EndpointSlices(es.Namespace).Create(context.Background(), es, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create EndpointSlice %s/%s: %v", es.Namespace, es.Name, err)
	}
}

func headless(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: ports, Selector: map[string]string{"app": name}}}
}

type ep struct {
	addr     string
	hostname string
	notReady bool
}

func slice(ns, svc, name string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...ep) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: family,
		Ports:       ports,
	}
	for _, e := range eps {
		x := discoveryv1.Endpoint{Addresses: []string{e.addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(!e.notReady)}}
		if e.hostname != "" {
			x.Hostname = ptr.To(e.hostname)
		}
		es.Endpoints = append(es.Endpoints, x)
	}
	return es
}

func tcpPort(name string, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}
}

func reverse(t testing.TB, ip string) string {
	t.Helper()
	r, err := dns.ReverseAddr(ip)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const soaText = "cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local."

func TestRecords(t *testing.T) {
	const ns = "records"
	createNamespace(t, ns)
	web := createService(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: corev1.ServiceSpec{IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicyRequireDualStack), Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP},
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		}}})
	if len(web.Spec.ClusterIPs) != 2 {
		t.Fatalf("web has cluster IPs %v; want one of each family", web.Spec.ClusterIPs)
	}
	webV4, webV6 := web.Spec.ClusterIPs[0], web.Spec.ClusterIPs[1]
	if strings.Contains(webV4, ":") {
		webV4, webV6 = webV6, webV4
	}
	single := createService(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "single"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8080}}}})
	singleIP := single.Spec.ClusterIP

	createService(t, headless(ns, "db", corev1.ServicePort{Name: "pg", Port: 5432}))
	pg := []discoveryv1.EndpointPort{tcpPort("pg", 5432)}
	createSlice(t, slice(ns, "db", "db-v4", discoveryv1.AddressTypeIPv4, pg,
		ep{addr: "10.1.0.1", hostname: "db-0"}, ep{addr: "10.1.0.2", hostname: "db-1"},
		ep{addr: "10.1.0.3"}, ep{addr: "10.1.0.4", hostname: "db-3", notReady: true}))
	createSlice(t, slice(ns, "db", "db-v6", discoveryv1.AddressTypeIPv6, pg, ep{addr: "fd00:1::1", hostname: "db-0"}))
	// A second slice repeating an endpoint (as during a controller's
	// rewrite) gives no second record.
	createSlice(t, slice(ns, "db", "db-v4-dup", discoveryv1.AddressTypeIPv4, pg, ep{addr: "10.1.0.1", hostname: "db-0"}))

	pending := headless(ns, "pending", corev1.ServicePort{Name: "peer", Port: 7000})
	pending.Spec.PublishNotReadyAddresses = true
	createService(t, pending)
	createSlice(t, slice(ns, "pending", "pending-a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{tcpPort("peer", 7000)},
		ep{addr: "10.1.1.1", hostname: "p-0", notReady: true}))
	createService(t, headless(ns, "empty", corev1.ServicePort{Name: "x", Port: 1}))

	createService(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: strings.TrimSuffix(externalTarget, ".")}})
	createService(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dangling"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "nope.records.svc.cluster.local"}})
	createService(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alias"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "web.records.svc.cluster.local"}})

	// The last object created is seen last: once it resolves, all have.
	waitRcode(t, "alias.records.svc.cluster.local.", dns.TypeCNAME, dns.RcodeSuccess)
	eventually(t, "db's slices", func() (bool, string) {
		got := rrTexts(query(t, "udp", "db.records.svc.cluster.local.", dns.TypeA, 0).Answer)
		return len(got) == 3, fmt.Sprint(got)
	})
	eventually(t, "pending's slice", func() (bool, string) {
		r := query(t, "udp", "pending.records.svc.cluster.local.", dns.TypeA, 0)
		return r.Rcode == dns.RcodeSuccess, dns.RcodeToString[r.Rcode]
	})

	const z = ".records.svc.cluster.local."
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string // sorted; nil means none
		extra  []string // checked when not nil
		soa    bool     // the authority section holds the SOA
	}{
		{name: "ClusterIP A", qname: "web" + z, qtype: dns.TypeA, answer: []string{"web" + z + " A " + webV4}},
		{name: "ClusterIP AAAA (dual-stack)", qname: "web" + z, qtype: dns.TypeAAAA, answer: []string{"web" + z + " AAAA " + webV6}},
		{name: "case-insensitive, question spelling kept", qname: "WEB.Records.SVC.cluster.LOCAL.", qtype: dns.TypeA,
			answer: []string{"WEB.Records.SVC.cluster.LOCAL. A " + webV4}},
		{name: "single-stack A", qname: "single" + z, qtype: dns.TypeA, answer: []string{"single" + z + " A " + singleIP}},
		{name: "SRV of the bare name: every port", qname: "single" + z, qtype: dns.TypeSRV, answer: []string{"single" + z + " SRV 0 100 8080 single" + z}},
		{name: "single-stack AAAA is NODATA", qname: "single" + z, qtype: dns.TypeAAAA, soa: true},
		{name: "TXT of a service is NODATA", qname: "web" + z, qtype: dns.TypeTXT, soa: true},
		{name: "unknown service NXDOMAIN", qname: "nope" + z, qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "unknown namespace NXDOMAIN", qname: "web.nope.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "namespace name is NODATA", qname: "records.svc.cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "svc is NODATA", qname: "svc.cluster.local.", qtype: dns.TypeA, soa: true},
		{name: "unknown name in zone NXDOMAIN", qname: "foo.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "SRV named TCP port", qname: "_http._tcp.web" + z, qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.web" + z + " SRV 0 100 80 web" + z},
			extra:  []string{"web" + z + " A " + webV4, "web" + z + " AAAA " + webV6}},
		{name: "SRV named UDP port", qname: "_dns._udp.web" + z, qtype: dns.TypeSRV,
			answer: []string{"_dns._udp.web" + z + " SRV 0 100 53 web" + z}},
		{name: "SRV wrong protocol NXDOMAIN", qname: "_http._udp.web" + z, qtype: dns.TypeSRV, rcode: dns.RcodeNameError, soa: true},
		{name: "SRV unknown port NXDOMAIN", qname: "_nope._tcp.web" + z, qtype: dns.TypeSRV, rcode: dns.RcodeNameError, soa: true},
		{name: "SRV name asked for A is NODATA", qname: "_http._tcp.web" + z, qtype: dns.TypeA, soa: true},
		{name: "_proto empty non-terminal NODATA", qname: "_tcp.web" + z, qtype: dns.TypeSRV, soa: true},
		{name: "unnamed port has no _port SRV", qname: "_8080._tcp.single" + z, qtype: dns.TypeSRV, rcode: dns.RcodeNameError, soa: true},
		{name: "headless A: ready endpoints", qname: "db" + z, qtype: dns.TypeA,
			answer: []string{"db" + z + " A 10.1.0.1", "db" + z + " A 10.1.0.2", "db" + z + " A 10.1.0.3"}},
		{name: "headless AAAA", qname: "db" + z, qtype: dns.TypeAAAA, answer: []string{"db" + z + " AAAA fd00:1::1"}},
		{name: "endpoint hostname A", qname: "db-1.db" + z, qtype: dns.TypeA, answer: []string{"db-1.db" + z + " A 10.1.0.2"}},
		{name: "endpoint hostname AAAA", qname: "db-0.db" + z, qtype: dns.TypeAAAA, answer: []string{"db-0.db" + z + " AAAA fd00:1::1"}},
		{name: "endpoint without hostname by dashed IP", qname: "10-1-0-3.db" + z, qtype: dns.TypeA, answer: []string{"10-1-0-3.db" + z + " A 10.1.0.3"}},
		{name: "not-ready endpoint hidden", qname: "db-3.db" + z, qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "headless SRV one per endpoint", qname: "_pg._tcp.db" + z, qtype: dns.TypeSRV,
			answer: []string{
				"_pg._tcp.db" + z + " SRV 0 33 5432 10-1-0-3.db" + z,
				"_pg._tcp.db" + z + " SRV 0 33 5432 db-0.db" + z,
				"_pg._tcp.db" + z + " SRV 0 33 5432 db-1.db" + z,
			},
			extra: []string{"10-1-0-3.db" + z + " A 10.1.0.3", "db-0.db" + z + " A 10.1.0.1", "db-0.db" + z + " AAAA fd00:1::1", "db-1.db" + z + " A 10.1.0.2"}},
		{name: "publishNotReadyAddresses", qname: "p-0.pending" + z, qtype: dns.TypeA, answer: []string{"p-0.pending" + z + " A 10.1.1.1"}},
		{name: "headless without endpoints NXDOMAIN", qname: "empty" + z, qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "ExternalName CNAME, target resolved upstream", qname: "ext" + z, qtype: dns.TypeA,
			answer: []string{"ext" + z + " CNAME " + externalTarget, externalTarget + " A " + externalIP}},
		{name: "ExternalName CNAME question", qname: "ext" + z, qtype: dns.TypeCNAME, answer: []string{"ext" + z + " CNAME " + externalTarget}},
		{name: "ExternalName to a cluster name, followed in the zone", qname: "alias" + z, qtype: dns.TypeA,
			answer: []string{"alias" + z + " CNAME web" + z, "web" + z + " A " + webV4}},
		{name: "ExternalName to a missing cluster name: NXDOMAIN with the CNAME", qname: "dangling" + z, qtype: dns.TypeA,
			rcode: dns.RcodeNameError, answer: []string{"dangling" + z + " CNAME nope" + z}, soa: true},
		{name: "PTR of a cluster IP", qname: reverse(t, webV4), qtype: dns.TypePTR, answer: []string{reverse(t, webV4) + " PTR web" + z}},
		{name: "PTR of an IPv6 cluster IP", qname: reverse(t, webV6), qtype: dns.TypePTR, answer: []string{reverse(t, webV6) + " PTR web" + z}},
		{name: "PTR of a headless endpoint", qname: reverse(t, "10.1.0.2"), qtype: dns.TypePTR, answer: []string{reverse(t, "10.1.0.2") + " PTR db-1.db" + z}},
		{name: "PTR of a headless IPv6 endpoint", qname: reverse(t, "fd00:1::1"), qtype: dns.TypePTR, answer: []string{reverse(t, "fd00:1::1") + " PTR db-0.db" + z}},
		{name: "PTR of an unknown IP goes upstream", qname: reverse(t, "10.9.9.9"), qtype: dns.TypePTR, rcode: dns.RcodeNameError},
		{name: "pod A", qname: "10-244-1-5.records.pod.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-244-1-5.records.pod.cluster.local. A 10.244.1.5"}},
		{name: "pod AAAA", qname: "fd00--5.records.pod.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"fd00--5.records.pod.cluster.local. AAAA fd00::5"}},
		{name: "pod AAAA of an IPv4 pod is NODATA", qname: "10-244-1-5.records.pod.cluster.local.", qtype: dns.TypeAAAA, soa: true},
		{name: "pod name not an IP NXDOMAIN", qname: "web.records.pod.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "pod in unknown namespace NXDOMAIN", qname: "10-244-1-5.nope.pod.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "zone SOA", qname: "cluster.local.", qtype: dns.TypeSOA, answer: []string{soaText}},
		{name: "zone NS", qname: "cluster.local.", qtype: dns.TypeNS, answer: []string{"cluster.local. NS ns.dns.cluster.local."}},
		{name: "schema version", qname: "dns-version.cluster.local.", qtype: dns.TypeTXT, answer: []string{`dns-version.cluster.local. TXT "1.1.0"`}},
		{name: "forwarded", qname: upstreamName, qtype: dns.TypeA, answer: []string{upstreamName + " A " + upstreamIP}},
		{name: "forwarded NXDOMAIN", qname: "nope.example.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
	}
	for _, proto := range []string{"udp", "tcp"} {
		for _, tc := range tests {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				r := query(t, proto, tc.qname, tc.qtype, 0)
				if r.Rcode != tc.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				got := rrTexts(r.Answer)
				want := tc.answer
				if want == nil {
					want = []string{}
				}
				// The SOA's serial and timers follow the mailbox; compare its prefix.
				if tc.qtype == dns.TypeSOA && len(got) == 1 && strings.HasPrefix(got[0], soaText) {
					got[0] = soaText
				}
				if !slices.Equal(got, want) {
					t.Errorf("answer\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if tc.extra != nil {
					if got := rrTexts(r.Extra); !slices.Equal(got, tc.extra) {
						t.Errorf("additional\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.extra, "\n"))
					}
				}
				hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
				if tc.soa != hasSOA {
					t.Errorf("authority %v; want the SOA: %v", rrTexts(r.Ns), tc.soa)
				}
				if tc.soa && r.Ns[0].(*dns.SOA).Minttl != DefaultTTL {
					t.Errorf("negative TTL %d, want %d", r.Ns[0].(*dns.SOA).Minttl, DefaultTTL)
				}
				inZone := dns.IsSubDomain("cluster.local.", strings.ToLower(tc.qname))
				if inZone && !r.Authoritative {
					t.Error("answer for the cluster domain is not authoritative")
				}
				for _, rr := range r.Answer {
					if dns.IsSubDomain("cluster.local.", strings.ToLower(rr.Header().Name)) && rr.Header().Ttl != DefaultTTL && rr.Header().Rrtype != dns.TypeTXT {
						t.Errorf("TTL of %s is %d, want %d", rrText(rr), rr.Header().Ttl, DefaultTTL)
					}
				}
			})
		}
	}
}

func TestUpdates(t *testing.T) {
	const ns = "updates"
	createNamespace(t, ns)
	ctx := context.Background()
	name := "gone.updates.svc.cluster.local."
	svc := createService(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gone"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
	waitRcode(t, name, dns.TypeA, dns.RcodeSuccess)
	if got := rrTexts(query(t, "udp", reverse(t, svc.Spec.ClusterIP), dns.TypePTR, 0).Answer); len(got) != 1 {
		t.Fatalf("PTR of %s: %v, want one record", svc.Spec.ClusterIP, got)
	}

	// A headless Service's records follow its EndpointSlice.
	createService(t, headless(ns, "hl", corev1.ServicePort{Name: "http", Port: 80}))
	createSlice(t, slice(ns, "hl", "hl-a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{tcpPort("http", 80)},
		ep{addr: "10.3.0.1", hostname: "a"}))
	waitRcode(t, "a.hl.updates.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess)
	es, err := client.DiscoveryV1().EndpointSlices(ns).Get(ctx, "hl-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	es.Endpoints[0].Conditions.Ready = ptr.To(false)
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRcode(t, "a.hl.updates.svc.cluster.local.", dns.TypeA, dns.RcodeNameError)
	waitRcode(t, "hl.updates.svc.cluster.local.", dns.TypeA, dns.RcodeNameError)

	if err := client.CoreV1().Services(ns).Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRcode(t, name, dns.TypeA, dns.RcodeNameError)
	// The cluster IP now belongs to nobody: the PTR question goes upstream,
	// which does not know it.
	waitRcode(t, reverse(t, svc.Spec.ClusterIP), dns.TypePTR, dns.RcodeNameError)
}

func TestTruncation(t *testing.T) {
	const ns = "trunc"
	createNamespace(t, ns)
	createService(t, headless(ns, "many", corev1.ServicePort{Name: "http", Port: 80}))
	var eps []ep
	for i := 1; i <= 100; i++ {
		eps = append(eps, ep{addr: fmt.Sprintf("10.4.0.%d", i)})
	}
	createSlice(t, slice(ns, "many", "many-a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{tcpPort("http", 80)}, eps...))
	name := "many.trunc.svc.cluster.local."
	eventually(t, "100 endpoints over TCP", func() (bool, string) {
		n := len(query(t, "tcp", name, dns.TypeA, 0).Answer)
		return n == 100, fmt.Sprint(n, " records")
	})

	tests := []struct {
		name      string
		qname     string
		proto     string
		bufsize   uint16
		truncated bool
		maxSize   int
		records   int // exact count when not 0
	}{
		{name: "UDP without EDNS0: 512 bytes", qname: name, proto: "udp", truncated: true, maxSize: 512},
		{name: "UDP with a 1232-byte EDNS0 buffer", qname: name, proto: "udp", bufsize: 1232, truncated: true, maxSize: 1232},
		{name: "UDP with a 4096-byte EDNS0 buffer fits", qname: name, proto: "udp", bufsize: 4096, maxSize: 4096, records: 100},
		{name: "TCP: everything", qname: name, proto: "tcp", maxSize: 65535, records: 100},
		{name: "forwarded over UDP, truncated for the client", qname: bigName, proto: "udp", truncated: true, maxSize: 512},
		{name: "forwarded over TCP", qname: bigName, proto: "tcp", maxSize: 65535, records: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := query(t, tc.proto, tc.qname, dns.TypeA, tc.bufsize)
			if r.Truncated != tc.truncated {
				t.Errorf("TC %v, want %v (%d records)", r.Truncated, tc.truncated, len(r.Answer))
			}
			r.Compress = true // as it came: Len then counts the compressed size
			if r.Len() > tc.maxSize {
				t.Errorf("response of %d bytes, more than %d", r.Len(), tc.maxSize)
			}
			if tc.records != 0 && len(r.Answer) != tc.records {
				t.Errorf("%d records, want %d", len(r.Answer), tc.records)
			}
			if tc.truncated && len(r.Answer) == 0 {
				t.Error("truncated response holds no records; it should hold as many as fit")
			}
			if tc.bufsize != 0 && r.IsEdns0() == nil {
				t.Error("no OPT record in the response to an EDNS0 query")
			}
		})
	}
	// A large upstream answer over UDP was retried over TCP upstream.
	upstream.bigOverTCP.Store(0)
	if r := query(t, "udp", bigName, dns.TypeA, 4096); len(r.Answer) != 100 || r.Truncated {
		t.Errorf("forwarded big answer with a 4096-byte buffer: %d records, TC %v; want 100, no TC", len(r.Answer), r.Truncated)
	}
	if upstream.bigOverTCP.Load() != 0 {
		t.Errorf("a 4096-byte answer went to the upstream over TCP; UDP should have held it")
	}
	query(t, "udp", bigName, dns.TypeA, 0)
	if upstream.bigOverTCP.Load() == 0 {
		t.Error("a truncated upstream answer was not asked again over TCP")
	}
}

func TestForwardTimeout(t *testing.T) {
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			r := query(t, proto, slowName, dns.TypeA, 0)
			if r.Rcode != dns.RcodeServerFailure {
				t.Errorf("rcode %s for an upstream that never answers, want SERVFAIL", dns.RcodeToString[r.Rcode])
			}
		})
	}
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetrics(t *testing.T) {
	query(t, "udp", "kubernetes.default.svc.cluster.local.", dns.TypeA, 0)
	query(t, "tcp", "nope.default.svc.cluster.local.", dns.TypeAAAA, 0)
	code, body := httpGet(t, "http://"+srv.MetricsAddr()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`skiff_dns_requests_total{proto="udp",rcode="NOERROR",type="A"}`,
		`skiff_dns_requests_total{proto="tcp",rcode="NXDOMAIN",type="AAAA"}`,
		`skiff_dns_request_duration_seconds_bucket{proto="udp",source="cluster",le=`,
		`skiff_dns_forward_requests_total{rcode=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestKubernetesService(t *testing.T) {
	// The API server's own Service, made by its bootstrap.
	eventually(t, "kubernetes.default", func() (bool, string) {
		r := query(t, "udp", "kubernetes.default.svc.cluster.local.", dns.TypeA, 0)
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1, fmt.Sprint(rrTexts(r.Answer))
	})
	r := query(t, "udp", "_https._tcp.kubernetes.default.svc.cluster.local.", dns.TypeSRV, 0)
	if got := rrTexts(r.Answer); len(got) != 1 || !strings.Contains(got[0], " SRV 0 100 443 kubernetes.default.svc.cluster.local.") {
		t.Errorf("_https._tcp.kubernetes: %v", got)
	}
}

func TestReadiness(t *testing.T) {
	code, _ := httpGet(t, "http://"+srv.HealthAddr()+"/ready")
	if code != http.StatusOK {
		t.Errorf("/ready of a synced server: %d, want 200", code)
	}

	// A server whose API server is unreachable never syncs: alive, not
	// ready, SERVFAIL for cluster names, forwarding still works.
	cfg := *apiServer.Config
	cfg.Host = "https://127.0.0.1:1"
	s, err := New(Config{RESTConfig: &cfg, ListenAddress: "127.0.0.1:0", HealthAddress: "127.0.0.1:0", MetricsAddress: "-",
		Upstreams: []string{upstream.addr}, ForwardTimeout: testForwardTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()
	select {
	case <-s.Listening():
	case err := <-done:
		t.Fatalf("Start ended: %v", err)
	}
	if s.MetricsAddr() != "" {
		t.Errorf("metrics served on %s; none was asked for", s.MetricsAddr())
	}
	if code, _ := httpGet(t, "http://"+s.HealthAddr()+"/health"); code != http.StatusOK {
		t.Errorf("/health: %d, want 200", code)
	}
	if code, _ := httpGet(t, "http://"+s.HealthAddr()+"/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/ready before sync: %d, want 503", code)
	}
	c := &dns.Client{Timeout: 5 * time.Second}
	m := new(dns.Msg).SetQuestion("kubernetes.default.svc.cluster.local.", dns.TypeA)
	if r, _, err := c.Exchange(m, s.Addr()); err != nil || r.Rcode != dns.RcodeServerFailure {
		t.Errorf("cluster name before sync: %v %v, want SERVFAIL", r, err)
	}
	m = new(dns.Msg).SetQuestion(upstreamName, dns.TypeA)
	if r, _, err := c.Exchange(m, s.Addr()); err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("forwarded name before sync: %v %v, want one A", r, err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	rc := dir + "/resolv.conf"
	if err := writeFile(rc, "search example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		check   func(*testing.T, Config)
	}{
		{name: "defaults and resolv.conf", cfg: Config{Client: client, ResolvConf: rc}, check: func(t *testing.T, c Config) {
			if c.ClusterDomain != "cluster.local" || c.TTL != 5 || c.ListenAddress != "0.0.0.0:53" || c.HealthAddress != ":8080" || c.MetricsAddress != ":9153" {
				t.Errorf("defaults: %+v", c)
			}
			if want := []string{"192.0.2.53:53", "[2001:db8::53]:53"}; !slices.Equal(c.Upstreams, want) {
				t.Errorf("upstreams %v, want %v", c.Upstreams, want)
			}
		}},
		{name: "upstream without port", cfg: Config{Client: client, Upstreams: []string{"192.0.2.1"}, ClusterDomain: "Example.ORG."}, check: func(t *testing.T, c Config) {
			if c.Upstreams[0] != "192.0.2.1:53" || c.ClusterDomain != "example.org" {
				t.Errorf("got %v %q", c.Upstreams, c.ClusterDomain)
			}
		}},
		{name: "no client", cfg: Config{Upstreams: []string{"192.0.2.1:53"}}, wantErr: "a Client or a RESTConfig is required"},
		{name: "bad listen", cfg: Config{Client: client, Upstreams: []string{"192.0.2.1:53"}, ListenAddress: "nope"}, wantErr: "listen address"},
		{name: "missing resolv.conf", cfg: Config{Client: client, ResolvConf: dir + "/none"}, wantErr: "read upstream resolvers"},
		{name: "bad DNS service", cfg: Config{Client: client, Upstreams: []string{"192.0.2.1:53"}, DNSService: "kube-dns"}, wantErr: "not namespace/name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.cfg.complete()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
