package exepages

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const smapsSample = `00400000-02257000 r--p 00000000 fe:00 1234                               /usr/bin/skiff
Size:              30332 kB
Rss:                4124 kB
Anonymous:             0 kB
02257000-05aba000 r-xp 01e57000 fe:00 1234                               /usr/bin/skiff
Size:              57740 kB
Rss:               57740 kB
Anonymous:             0 kB
05aba000-0a07c000 r--p 056ba000 fe:00 1234                               /usr/bin/skiff
Rss:               71432 kB
Anonymous:             4 kB
0a07d000-0a1ed000 rw-p 09c7d000 fe:00 1234                               /usr/bin/skiff
Rss:                1216 kB
Anonymous:           364 kB
0b000000-0b100000 r--p 00000000 fe:00 99                                 /usr/lib/libc.so.6
Rss:                1140 kB
Anonymous:             0 kB
7f0000000000-7f0000200000 r--s 00000000 fe:00 1234                       /usr/bin/skiff
Rss:                 100 kB
Anonymous:             0 kB
3cfcdc800000-3cfce5c00000 rw-p 00000000 00:00 0 
Rss:               99344 kB
Anonymous:         99344 kB
7ffd00000000-7ffd00001000 r-xp 00000000 fe:00 5555                       /overlay/skiff
Rss:                   4 kB
Anonymous:             0 kB
`

func TestReleasable(t *testing.T) {
	dev := unix.Mkdev(0xfe, 0)
	tests := []struct {
		name string
		exe  file
		want []string
	}{
		{
			name: "by device and inode",
			exe:  file{dev: dev, ino: 1234},
			// Not the rodata mapping with an anonymous page, the data
			// mapping, the shared mapping, libc or the heap.
			want: []string{"400000-2257000 r--p 4124", "2257000-5aba000 r-xp 57740"},
		},
		{
			name: "by path when device and inode differ",
			exe:  file{dev: dev, ino: 1, path: "/overlay/skiff"},
			want: []string{"7ffd00000000-7ffd00001000 r-xp 4"},
		},
		{
			name: "another file",
			exe:  file{dev: dev, ino: 42, path: "/usr/bin/other"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := releasable([]byte(smapsSample), tt.exe)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, m := range got {
				gotS = append(gotS, strconv.FormatUint(m.Start, 16)+"-"+strconv.FormatUint(m.End, 16)+" "+m.Perms+" "+strconv.FormatUint(m.RSSKiB, 10))
			}
			if strings.Join(gotS, ",") != strings.Join(tt.want, ",") {
				t.Errorf("releasable = %q, want %q", gotS, tt.want)
			}
		})
	}
}

func TestReleasableMalformed(t *testing.T) {
	if _, err := releasable([]byte("zz-00400000 r--p 0 fe:00 1 /x\n"), file{}); err == nil {
		t.Error("releasable accepted a bad range")
	}
}

// exeRSSKiB sums the resident size of the test binary's mappings.
func exeRSSKiB(t *testing.T) (total uint64) {
	t.Helper()
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	inExe := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if isHeader(f[0]) {
			inExe = len(f) >= 6 && f[5] == path
			continue
		}
		if inExe && f[0] == "Rss:" {
			v, _ := strconv.ParseUint(f[1], 10, 64)
			total += v
		}
	}
	return total
}

// TestRelease runs Release on the test binary itself: its code and
// read-only data are unmapped, the process goes on running (and reading
// its read-only data) from pages faulted back in, and writable data is
// kept.
func TestRelease(t *testing.T) {
	before := exeRSSKiB(t)
	written := []byte("kept")
	released, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	if len(released) == 0 {
		t.Fatal("Release released nothing of the test binary")
	}
	var sawCode bool
	var releasedKiB uint64
	for _, m := range released {
		if strings.Contains(m.Perms, "w") {
			t.Errorf("released a writable mapping %x-%x %s", m.Start, m.End, m.Perms)
		}
		sawCode = sawCode || m.Perms == "r-xp"
		releasedKiB += m.RSSKiB
	}
	if !sawCode {
		t.Errorf("the code mapping was not released: %+v", released)
	}
	after := exeRSSKiB(t)
	t.Logf("executable's RSS %d KiB before, %d KiB released, %d KiB after", before, releasedKiB, after)
	if after >= before {
		t.Errorf("executable's RSS did not drop: %d KiB before, %d KiB after", before, after)
	}
	// Code, read-only data (the test's tables, strings) and writable data
	// all still work.
	if string(written) != "kept" || strconv.Itoa(12345) != "12345" {
		t.Fatal("data changed after Release")
	}
	if _, err := releasable([]byte(smapsSample), file{dev: unix.Mkdev(0xfe, 0), ino: 1234}); err != nil {
		t.Fatal(err)
	}
}
