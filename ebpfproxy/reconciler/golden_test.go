//go:build linux

package reconciler

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/ebpfproxy/datasource"
	"github.com/skiff-dev/skiff/ebpfproxy/tables"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden feeds testdata/*.yaml (Services and EndpointSlices) through
// datasource → tables → reconciler onto real maps, and compares the
// desired tables and the resulting map contents with testdata/*.golden.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.tables.SetNode(tables.Node{Name: "node-a", Zone: "zone-a", Addresses: []netip.Addr{
				netip.MustParseAddr("10.250.255.1"), netip.MustParseAddr("fd00:250::ff:1")}})
			in, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := datasource.DecodeYAML(in)
			in.Close()
			if err != nil {
				t.Fatal(err)
			}
			if err := datasource.Apply(e.tables, objs); err != nil {
				t.Fatal(err)
			}
			e.sync()
			snap, err := e.rec.Dump()
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			got.WriteString("# tables (Desired)\n")
			writeDesired(&got, e.tables.Desired())
			got.WriteString("# maps (M=1021)\n")
			got.WriteString(snap.String())

			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", golden, got.String(), want)
			}
		})
	}
}

func writeDesired(b *bytes.Buffer, d tables.Desired) {
	for _, s := range d.Services {
		fmt.Fprintf(b, "%s:\n", s.Key)
		for _, f := range s.Frontends {
			fmt.Fprintf(b, "  frontend %s %s\n", f, f.Type)
		}
		for _, be := range s.Backends {
			fmt.Fprintf(b, "  backend %s\n", be)
		}
		if s.AffinityTimeout != 0 {
			fmt.Fprintf(b, "  affinity %s\n", s.AffinityTimeout)
		}
		if s.SNAT {
			b.WriteString("  snat\n")
		}
	}
	for _, c := range d.Conflicts {
		fmt.Fprintf(b, "conflict %s\n", c)
	}
}
