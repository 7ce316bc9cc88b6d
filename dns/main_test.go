package dns

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// The package's tests share one API server, one fake upstream resolver and
// one DNS server on loopback.
var (
	apiServer *testserver.TestServer
	client    kubernetes.Interface
	upstream  *fakeUpstream
	srv       *Server
)

const testForwardTimeout = 300 * time.Millisecond

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	apiServer, err = testserver.Start(testserver.Options{Customize: func(o *server.Options) {
		o.ServiceClusterIPRange = "10.0.0.0/24,fd00:10:96::/112"
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start API server:", err)
		return 1
	}
	defer apiServer.Stop()
	client = apiServer.Client()

	upstream, err = startFakeUpstream()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start fake upstream:", err)
		return 1
	}
	defer upstream.stop()

	srv, err = New(Config{
		RESTConfig:     apiServer.Config,
		ListenAddress:  "127.0.0.1:0",
		HealthAddress:  "127.0.0.1:0",
		MetricsAddress: "127.0.0.1:0",
		Upstreams:      []string{upstream.addr},
		ForwardTimeout: testForwardTimeout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "new DNS server:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "DNS server:", err)
		}
	}()
	select {
	case <-srv.Synced():
	case err := <-done:
		fmt.Fprintln(os.Stderr, "DNS server ended before sync:", err)
		return 1
	case <-time.After(60 * time.Second):
		fmt.Fprintln(os.Stderr, "DNS server not synced within 60s")
		return 1
	}
	return m.Run()
}

// fakeUpstream is a resolver on loopback standing in for the node's.
type fakeUpstream struct {
	addr     string
	udp, tcp *dns.Server
	// bigOverTCP counts questions for big.example. that came over TCP.
	bigOverTCP atomic.Int64
}

// Names the fake upstream knows.
const (
	upstreamName   = "example.com."
	upstreamIP     = "192.0.2.1"
	bigName        = "big.example."  // 100 A records, more than 512 bytes
	slowName       = "slow.example." // never answered
	externalTarget = "www.external.test."
	externalIP     = "198.51.100.7"
)

func startFakeUpstream() (*fakeUpstream, error) {
	pc, ln, err := listenUDPAndTCP("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeUpstream{addr: ln.Addr().String()}
	h := dns.HandlerFunc(f.serve)
	f.udp = &dns.Server{PacketConn: pc, Handler: h}
	f.tcp = &dns.Server{Listener: ln, Handler: h}
	started := make(chan struct{}, 2)
	f.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	f.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go f.udp.ActivateAndServe()
	go f.tcp.ActivateAndServe()
	<-started
	<-started
	return f, nil
}

func (f *fakeUpstream) stop() {
	f.udp.Shutdown()
	f.tcp.Shutdown()
}

func (f *fakeUpstream) serve(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	_, overTCP := w.LocalAddr().(*net.TCPAddr)
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	switch {
	case q.Name == slowName:
		return // no answer: the forwarder must time out
	case q.Name == upstreamName && q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, mustRR(q.Name+" 60 IN A "+upstreamIP))
	case q.Name == externalTarget && q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, mustRR(q.Name+" 60 IN A "+externalIP))
	case q.Name == bigName && q.Qtype == dns.TypeA:
		if overTCP {
			f.bigOverTCP.Add(1)
		}
		for i := 1; i <= 100; i++ {
			m.Answer = append(m.Answer, mustRR(fmt.Sprintf("%s 60 IN A 192.0.2.%d", q.Name, i)))
		}
	case q.Name == upstreamName || q.Name == externalTarget || q.Name == bigName:
	default:
		m.Rcode = dns.RcodeNameError
	}
	if !overTCP {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}
