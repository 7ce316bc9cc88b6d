package dns

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// answer is what the cluster zone says about one question.
type answer struct {
	// exists is false for a name that does not exist (NXDOMAIN); true with
	// no records is NODATA.
	exists bool
	rrs    []dns.RR
	extra  []dns.RR
	// external is an ExternalName target to resolve upstream and append.
	external string
}

var nxdomain = answer{}

func nodata() answer { return answer{exists: true} }

// zone answers questions for the cluster domain and the reverse zones.
type zone struct {
	origin     string // e.g. "cluster.local."
	ttl        uint32
	store      *store
	dnsSvcNS   string
	dnsSvcName string
}

func (z *zone) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: z.ttl}
}

func (z *zone) soa() dns.RR {
	h := z.hdr(z.origin, dns.TypeSOA)
	return &dns.SOA{Hdr: h, Ns: "ns.dns." + z.origin, Mbox: "hostmaster." + z.origin,
		Serial: z.store.serial(), Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: z.ttl}
}

// inZone tells whether the lower-case FQDN qname is in the cluster domain.
func (z *zone) inZone(qname string) bool { return dns.IsSubDomain(z.origin, qname) }

// lookup answers qname (lower case, fully qualified, within the zone).
func (z *zone) lookup(qname string, qtype uint16) answer {
	rel := strings.TrimSuffix(strings.TrimSuffix(qname, z.origin), ".")
	var labels []string
	if rel != "" {
		labels = strings.Split(rel, ".")
	}
	n := len(labels)
	switch {
	case n == 0:
		switch qtype {
		case dns.TypeSOA:
			return answer{exists: true, rrs: []dns.RR{z.soa()}}
		case dns.TypeNS:
			ns := &dns.NS{Hdr: z.hdr(z.origin, dns.TypeNS), Ns: "ns.dns." + z.origin}
			return answer{exists: true, rrs: []dns.RR{ns}, extra: z.nsAddrs("ns.dns."+z.origin, dns.TypeA, dns.TypeAAAA)}
		}
		return nodata()
	case n == 1 && labels[0] == "dns-version":
		if qtype == dns.TypeTXT {
			h := z.hdr(qname, dns.TypeTXT)
			h.Ttl = 28800
			return answer{exists: true, rrs: []dns.RR{&dns.TXT{Hdr: h, Txt: []string{SchemaVersion}}}}
		}
		return nodata()
	case n == 1 && labels[0] == "dns":
		return nodata() // the empty non-terminal above ns.dns
	case n == 2 && labels[1] == "dns" && labels[0] == "ns":
		return answer{exists: true, rrs: z.nsAddrs(qname, qtype)}
	case labels[n-1] == "svc":
		return z.lookupService(qname, qtype, labels[:n-1])
	case labels[n-1] == "pod":
		return z.lookupPod(qname, qtype, labels[:n-1])
	}
	return nxdomain
}

// nsAddrs are the addresses of the DNS Service, under name.
func (z *zone) nsAddrs(name string, qtypes ...uint16) []dns.RR {
	svc := z.store.service(z.dnsSvcNS, z.dnsSvcName)
	if svc == nil {
		return nil
	}
	var out []dns.RR
	for _, t := range qtypes {
		out = append(out, z.addrRRs(name, t, clusterIPs(svc))...)
	}
	return out
}

// addrRRs are the A (qtype A) or AAAA (qtype AAAA) records of ips, under
// name; other qtypes give none.
func (z *zone) addrRRs(name string, qtype uint16, ips []netip.Addr) []dns.RR {
	var out []dns.RR
	for _, ip := range ips {
		switch {
		case ip.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
			out = append(out, &dns.A{Hdr: z.hdr(name, dns.TypeA), A: ip.AsSlice()})
		case ip.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			out = append(out, &dns.AAAA{Hdr: z.hdr(name, dns.TypeAAAA), AAAA: ip.AsSlice()})
		}
	}
	return out
}

// lookupService answers names under svc.<zone>; labels are those left of
// "svc", e.g. [_http _tcp web default].
func (z *zone) lookupService(qname string, qtype uint16, labels []string) answer {
	n := len(labels)
	if n == 0 {
		return nodata()
	}
	ns := labels[n-1]
	if !z.store.namespaceExists(ns) {
		return nxdomain
	}
	if n == 1 {
		return nodata()
	}
	svc := z.store.service(ns, labels[n-2])
	if svc == nil {
		return nxdomain
	}
	svcName := labels[n-2] + "." + ns + ".svc." + z.origin
	switch n {
	case 2:
		return z.serviceRecords(qname, qtype, svc)
	case 3:
		// <hostname>.<service>, or the empty non-terminal _<proto>.<service>.
		if proto, ok := strings.CutPrefix(labels[0], "_"); ok {
			if z.hasPort(svc, "", proto) {
				return nodata()
			}
			return nxdomain
		}
		return z.endpointRecords(qname, qtype, svc, labels[0])
	case 4:
		port, okPort := strings.CutPrefix(labels[0], "_")
		proto, okProto := strings.CutPrefix(labels[1], "_")
		if !okPort || !okProto || port == "" || proto == "" {
			return nxdomain
		}
		return z.srvRecords(qname, qtype, svc, svcName, port, proto)
	}
	return nxdomain
}

// serviceRecords answers <service>.<ns>.svc.<zone>.
func (z *zone) serviceRecords(qname string, qtype uint16, svc *corev1.Service) answer {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.ExternalName == "" {
			return nxdomain
		}
		if _, err := netip.ParseAddr(svc.Spec.ExternalName); err == nil {
			return nxdomain // an IP is not a CNAME target (CoreDNS skips it too)
		}
		target := strings.ToLower(dns.Fqdn(svc.Spec.ExternalName))
		cname := &dns.CNAME{Hdr: z.hdr(qname, dns.TypeCNAME), Target: target}
		a := answer{exists: true, rrs: []dns.RR{cname}}
		if qtype != dns.TypeCNAME {
			a.external = target
		}
		return a
	}
	if !isHeadless(svc) {
		a := answer{exists: true, rrs: z.addrRRs(qname, qtype, clusterIPs(svc))}
		if qtype == dns.TypeSRV {
			a.rrs, a.extra = z.clusterIPSRVs(qname, svc, "", "")
		}
		return a
	}
	eps := z.store.endpoints(svc)
	if len(eps) == 0 {
		return nxdomain // the specification: no ready endpoints, NXDOMAIN
	}
	a := answer{exists: true}
	if qtype == dns.TypeSRV {
		a.rrs, a.extra = z.headlessSRVs(qname, svc, eps, "", "")
		return a
	}
	for _, ep := range eps {
		a.rrs = append(a.rrs, z.addrRRs(qname, qtype, []netip.Addr{ep.addr})...)
	}
	return a
}

// endpointRecords answers <hostname>.<service>.<ns>.svc.<zone> of a
// headless Service.
func (z *zone) endpointRecords(qname string, qtype uint16, svc *corev1.Service, host string) answer {
	if !isHeadless(svc) {
		return nxdomain
	}
	a := answer{}
	for _, ep := range z.store.endpoints(svc) {
		if ep.hostname != host {
			continue
		}
		a.exists = true
		a.rrs = append(a.rrs, z.addrRRs(qname, qtype, []netip.Addr{ep.addr})...)
	}
	return a
}

// srvRecords answers _<port>._<proto>.<service>.<ns>.svc.<zone>.
func (z *zone) srvRecords(qname string, qtype uint16, svc *corev1.Service, svcName, port, proto string) answer {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nxdomain
	}
	var rrs, extra []dns.RR
	if isHeadless(svc) {
		rrs, extra = z.headlessSRVs(qname, svc, z.store.endpoints(svc), port, proto)
	} else {
		rrs, extra = z.clusterIPSRVs(qname, svc, port, proto)
	}
	if len(rrs) == 0 {
		return nxdomain
	}
	if qtype != dns.TypeSRV && qtype != dns.TypeANY {
		return nodata()
	}
	return answer{exists: true, rrs: rrs, extra: extra}
}

// hasPort tells whether svc has a port of that name (any name when empty)
// and protocol (any when empty).
func (z *zone) hasPort(svc *corev1.Service, port, proto string) bool {
	for _, p := range svc.Spec.Ports {
		if portMatches(port, p.Name, proto, p.Protocol) {
			return true
		}
	}
	return false
}

func portMatches(wantName, name, wantProto string, proto corev1.Protocol) bool {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	if wantName == "" && wantProto == "" {
		return true // the bare service name: every port
	}
	return name != "" && (wantName == "" || strings.EqualFold(wantName, name)) &&
		(wantProto == "" || strings.EqualFold(wantProto, string(proto)))
}

func (z *zone) srv(qname, target string, port int32, weight uint16) dns.RR {
	return &dns.SRV{Hdr: z.hdr(qname, dns.TypeSRV), Priority: 0, Weight: weight, Port: uint16(port), Target: target}
}

func srvWeight(n int) uint16 {
	if n <= 1 {
		return 100
	}
	return uint16(max(1, 100/n))
}

// clusterIPSRVs are the SRV records of a Service with cluster IPs: one per
// matching port, at the Service's name, which the extra records resolve.
func (z *zone) clusterIPSRVs(qname string, svc *corev1.Service, port, proto string) (rrs, extra []dns.RR) {
	target := svc.Name + "." + svc.Namespace + ".svc." + z.origin
	var ports []corev1.ServicePort
	for _, p := range svc.Spec.Ports {
		if portMatches(port, p.Name, proto, p.Protocol) {
			ports = append(ports, p)
		}
	}
	for _, p := range ports {
		rrs = append(rrs, z.srv(qname, target, p.Port, srvWeight(len(ports))))
	}
	if len(rrs) > 0 {
		ips := clusterIPs(svc)
		extra = append(z.addrRRs(target, dns.TypeA, ips), z.addrRRs(target, dns.TypeAAAA, ips)...)
	}
	return rrs, extra
}

// headlessSRVs are the SRV records of a headless Service: one per endpoint
// hostname and matching port of its slice, which the extra records resolve.
func (z *zone) headlessSRVs(qname string, svc *corev1.Service, eps []endpoint, port, proto string) (rrs, extra []dns.RR) {
	type key struct {
		target string
		port   int32
	}
	var keys []key
	seen := map[key]bool{}
	targets := map[string][]netip.Addr{}
	var order []string
	for _, ep := range eps {
		target := ep.hostname + "." + svc.Name + "." + svc.Namespace + ".svc." + z.origin
		for _, p := range ep.ports {
			name, pr := "", corev1.ProtocolTCP
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				pr = *p.Protocol
			}
			if p.Port == nil || !portMatches(port, name, proto, pr) {
				continue
			}
			k := key{target, *p.Port}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
			if _, ok := targets[target]; !ok {
				order = append(order, target)
			}
			if !containsAddr(targets[target], ep.addr) {
				targets[target] = append(targets[target], ep.addr)
			}
		}
	}
	for _, k := range keys {
		rrs = append(rrs, z.srv(qname, k.target, k.port, srvWeight(len(keys))))
	}
	for _, t := range order {
		extra = append(extra, z.addrRRs(t, dns.TypeA, targets[t])...)
		extra = append(extra, z.addrRRs(t, dns.TypeAAAA, targets[t])...)
	}
	return rrs, extra
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// lookupPod answers <a-b-c-d>.<ns>.pod.<zone> without checking that such a
// pod exists (CoreDNS's "pods insecure").
func (z *zone) lookupPod(qname string, qtype uint16, labels []string) answer {
	n := len(labels)
	if n == 0 {
		return nodata()
	}
	if !z.store.namespaceExists(labels[n-1]) {
		return nxdomain
	}
	switch n {
	case 1:
		return nodata()
	case 2:
		ip, ok := parseDashed(labels[0])
		if !ok {
			return nxdomain
		}
		return answer{exists: true, rrs: z.addrRRs(qname, qtype, []netip.Addr{ip})}
	}
	return nxdomain
}

// parseDashed reads 10-244-0-5 as 10.244.0.5 and fd00--5 as fd00::5.
func parseDashed(s string) (netip.Addr, bool) {
	var text string
	if strings.Count(s, "-") == 3 && !strings.Contains(s, "--") {
		text = strings.ReplaceAll(s, "-", ".")
	} else {
		text = strings.ReplaceAll(s, "-", ":")
	}
	ip, err := netip.ParseAddr(text)
	if err != nil || ip.Zone() != "" || ip.Is4In6() {
		return netip.Addr{}, false
	}
	return ip, true
}

// lookupReverse answers a PTR question for the name of a whole address
// under in-addr.arpa or ip6.arpa: the Services with that cluster IP and the
// headless Services' endpoints with that address. ok is false when the name
// is not such a name or no Service claims the address, so that the
// question goes upstream.
func (z *zone) lookupReverse(qname string, qtype uint16) (answer, bool) {
	ip, ok := parseReverse(qname)
	if !ok {
		return answer{}, false
	}
	a := answer{}
	seen := map[string]bool{}
	add := func(target string) {
		a.exists = true
		if seen[target] {
			return
		}
		seen[target] = true
		if qtype == dns.TypePTR || qtype == dns.TypeANY {
			a.rrs = append(a.rrs, &dns.PTR{Hdr: z.hdr(qname, dns.TypePTR), Ptr: target})
		}
	}
	for _, svc := range z.store.servicesByIP(ip) {
		add(svc.Name + "." + svc.Namespace + ".svc." + z.origin)
	}
	for _, es := range z.store.slicesByIP(ip) {
		svc := z.store.service(es.Namespace, es.Labels["kubernetes.io/service-name"])
		if svc == nil || !isHeadless(svc) {
			continue
		}
		for _, ep := range z.store.endpoints(svc) {
			if ep.addr == ip {
				add(ep.hostname + "." + svc.Name + "." + svc.Namespace + ".svc." + z.origin)
			}
		}
	}
	return a, a.exists
}

// parseReverse reads d.c.b.a.in-addr.arpa. or the 32 nibbles of an
// ip6.arpa. name; partial names do not parse.
func parseReverse(qname string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(qname, ".in-addr.arpa."); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, p := range parts {
			v, err := strconv.ParseUint(p, 10, 8)
			if err != nil || (len(p) > 1 && p[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(qname, ".ip6.arpa."); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, p := range parts {
			v, err := strconv.ParseUint(p, 16, 8)
			if err != nil || len(p) != 1 {
				return netip.Addr{}, false
			}
			nib := 31 - i
			if nib%2 == 0 {
				b[nib/2] |= byte(v) << 4
			} else {
				b[nib/2] |= byte(v)
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
