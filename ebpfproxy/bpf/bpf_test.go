//go:build linux

package bpf

import (
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/cilium/ebpf"
)

func TestAddrPortRoundTrip(t *testing.T) {
	for _, s := range []string{"10.250.0.1", "0.0.0.0", "fd00:250::1", "::1"} {
		a := netip.MustParseAddr(s)
		if got := AddrFrom(Addr(a)); got != a {
			t.Errorf("AddrFrom(Addr(%s)) = %s", a, got)
		}
	}
	w := Addr(netip.MustParseAddr("10.250.0.1"))
	// ::ffff:10.250.0.1 with the last word holding 10.250.0.1 in network order.
	if w[0] != 0 || w[1] != 0 || w[3] != Addr(netip.MustParseAddr("::ffff:10.250.0.1"))[3] {
		t.Errorf("IPv4 is not IPv4-mapped: %x", w)
	}
	if p := Port(80); PortFrom(p) != 80 || (p != 80 && p != 20480) {
		t.Errorf("Port(80) = %d", p)
	}
}

// TestLoad loads every program into the kernel, so it fails if the verifier
// rejects one.
func TestLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading BPF programs needs root")
	}
	spec, err := LoadSpec(Sizes{Services: 128, Backends: 128, Affinity: 128, RevNat: 128, Conntrack: 128})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range spec.Maps {
		m.Pinning = ebpf.PinNone
	}
	var objs Objects
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("verifier: %+v", ve)
		}
		t.Fatal(err)
	}
	defer objs.Close()
	for _, h := range Hooks {
		if h.Program(&objs) == nil {
			t.Errorf("hook %s has no program", h.Name)
		}
	}
	if objs.SkiffTcIngress == nil || objs.SkiffTcIngress.Type() != ebpf.SchedCLS {
		t.Errorf("TC program %s missing or not sched_cls", ProgTCIngress)
	}
	if got := spec.Maps[MapCtFwd].MaxEntries; got != 128 {
		t.Errorf("ct_fwd size = %d, want 128", got)
	}
	if got := spec.Maps[MapMaglevChunks].MaxEntries; got != 2*128+16 {
		t.Errorf("maglev_chunks size = %d, want %d", got, 2*128+16)
	}
}
