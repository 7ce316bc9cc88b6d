//go:build linux

package proxy

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/skiff-dev/skiff/ebpfproxy/reconciler"
)

// WriteStatus prints what the maps pinned under pinDir hold: frontends
// (socket path and TC path) with their service ids, backend counts and
// counters, and backends with the Maglev slots each service gives them. It
// reads the pins only, so it works while no proxy runs.
func WriteStatus(w io.Writer, pinDir string) error {
	if pinDir == "" {
		pinDir = DefaultPinDir
	}
	snap, err := reconciler.ReadPinned(pinDir)
	if err != nil {
		return fmt.Errorf("read pinned maps under %s (is a proxy installed there?): %w", pinDir, err)
	}
	return writeSnapshot(w, snap)
}

func writeSnapshot(w io.Writer, snap *reconciler.Snapshot) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FRONTEND\tPROTOCOL\tPATH\tSERVICE-ID\tBACKENDS\tTABLE\tOPTIONS\tCONNECTIONS\tREFUSED")
	for _, f := range snap.Frontends {
		opts := "-"
		if f.AffinitySeconds != 0 {
			opts = fmt.Sprintf("affinity=%ds", f.AffinitySeconds)
		}
		st := snap.Stats[f.ServiceID]
		fmt.Fprintf(tw, "%s\t%s\tsocket\t%d\t%d\t%d\t%s\t%d\t%d\n", f.Frontend, proto(f.Protocol), f.ServiceID, f.Backends, f.TableSize, opts, st.Translated, st.Refused)
	}
	for _, f := range snap.External {
		opts := "keep-client"
		if f.SNAT.IsValid() {
			opts = "snat=" + f.SNAT.String()
		}
		st := snap.Stats[f.ServiceID]
		fmt.Fprintf(tw, "%s\t%s\ttc\t%d\t%d\t%d\t%s\t%d\t%d\n", f.Frontend, proto(f.Protocol), f.ServiceID, f.Backends, f.TableSize, opts, st.Translated, st.Refused)
	}
	fmt.Fprintln(tw)
	// Which services use a backend, with its share of their table.
	use := map[uint32][]string{}
	for _, t := range snap.Tables {
		for id, n := range t.Slots {
			use[id] = append(use[id], fmt.Sprintf("%d(%d/%d)", t.ServiceID, n, t.Size))
		}
	}
	fmt.Fprintln(tw, "BACKEND-ID\tADDRESS\tSERVICE-IDS(SLOTS)")
	for _, b := range snap.Backends {
		u := use[b.ID]
		slices.Sort(u)
		s := strings.Join(u, ",")
		if s == "" {
			s = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", b.ID, b.Addr, s)
	}
	fmt.Fprintf(tw, "\n%d frontends (socket), %d frontends (tc), %d services, %d backends\n",
		len(snap.Frontends), len(snap.External), len(slices.Collect(maps.Keys(snap.Stats))), len(snap.Backends))
	return tw.Flush()
}

func proto(p uint8) string {
	switch p {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 132:
		return "SCTP"
	}
	return fmt.Sprint(p)
}
