package dns

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkQuery measures a Service A record: over loopback UDP on one
// connection (serial and parallel), and the answer alone, without the
// network.
func BenchmarkQuery(b *testing.B) {
	const name = "kubernetes.default.svc.cluster.local."
	if r := query(b, "udp", name, dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		b.Fatalf("%s: %v", name, r)
	}
	exchange := func(b *testing.B, c *dns.Conn, m *dns.Msg) {
		if err := c.WriteMsg(m); err != nil {
			b.Fatal(err)
		}
		r, err := c.ReadMsg()
		if err != nil {
			b.Fatal(err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			b.Fatalf("answer %v", r)
		}
	}
	dial := func(b *testing.B) *dns.Conn {
		c, err := (&dns.Client{Net: "udp", Timeout: 5 * time.Second}).Dial(srv.Addr())
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	b.Run("udp", func(b *testing.B) {
		c := dial(b)
		defer c.Close()
		m := new(dns.Msg).SetQuestion(name, dns.TypeA)
		start := time.Now()
		for b.Loop() {
			exchange(b, c, m)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
	})
	b.Run("udp-parallel", func(b *testing.B) {
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			c := dial(b)
			defer c.Close()
			m := new(dns.Msg).SetQuestion(name, dns.TypeA)
			for pb.Next() {
				exchange(b, c, m)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
	})
	b.Run("answer-only", func(b *testing.B) {
		m := new(dns.Msg).SetQuestion(name, dns.TypeA)
		start := time.Now()
		for b.Loop() {
			if r, _ := srv.respond(m, false); len(r.Answer) != 1 {
				b.Fatalf("answer %v", r)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
	})
}
