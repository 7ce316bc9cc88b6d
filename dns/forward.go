package dns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// forwarder sends questions outside the cluster domain to the upstream
// resolvers, one after another until one answers.
type forwarder struct {
	upstreams []string
	timeout   time.Duration
	udp, tcp  *dns.Client
	metrics   *metrics
}

func newForwarder(upstreams []string, timeout time.Duration, m *metrics) *forwarder {
	return &forwarder{
		upstreams: upstreams,
		timeout:   timeout,
		udp:       &dns.Client{Net: "udp", Timeout: timeout, UDPSize: dns.MaxMsgSize},
		tcp:       &dns.Client{Net: "tcp", Timeout: timeout},
		metrics:   m,
	}
}

var errNoUpstreams = errors.New("no upstream resolvers")

// exchange forwards req and returns the upstream's reply under req's ID.
// Over UDP a truncated reply is asked again over TCP. The whole exchange
// ends by ctx or after the timeout for each upstream.
func (f *forwarder) exchange(ctx context.Context, req *dns.Msg, overTCP bool) (*dns.Msg, error) {
	if len(f.upstreams) == 0 {
		return nil, errNoUpstreams
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout*time.Duration(len(f.upstreams)))
	defer cancel()
	m := req.Copy()
	m.Id = dns.Id()
	var errs []error
	for _, up := range f.upstreams {
		r, err := f.exchangeOne(ctx, m, up, overTCP)
		if err != nil {
			f.metrics.forwards.WithLabelValues(up, "error").Inc()
			errs = append(errs, fmt.Errorf("upstream %s: %w", up, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		f.metrics.forwards.WithLabelValues(up, dns.RcodeToString[r.Rcode]).Inc()
		r.Id = req.Id
		return r, nil
	}
	return nil, errors.Join(errs...)
}

func (f *forwarder) exchangeOne(ctx context.Context, m *dns.Msg, upstream string, overTCP bool) (*dns.Msg, error) {
	if !overTCP {
		r, _, err := f.udp.ExchangeContext(ctx, m, upstream)
		if err != nil {
			return nil, fmt.Errorf("udp: %w", err)
		}
		if !r.Truncated {
			return r, nil
		}
	}
	r, _, err := f.tcp.ExchangeContext(ctx, m, upstream)
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return r, nil
}
