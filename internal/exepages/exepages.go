package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Mapping is one mapping of the executable that Release may drop.
type Mapping struct {
	Start, End uint64
	// Perms are the mapping's permissions as /proc/self/maps shows them
	// ("r-xp", "r--p").
	Perms string
	// RSSKiB is the mapping's resident size before Release.
	RSSKiB uint64
}

// Release drops the process's mappings of its executable's read-only,
// private pages. Go binaries are large (Skiff's links the API server,
// etcd, the kubelet, kubectl, containerd's client ...), start-up runs code
// and reads tables all over them, and on kernels with large page-cache
// folios (ext4, XFS) a touched 2 MiB block of the file may be mapped as a
// whole huge page: Skiff's idle API server kept 105-135 MB of the binary
// mapped, of which ~80 MB are mapped again (in fault-around windows) in the
// minute after Release.
//
// For each such mapping Release first asks for small pages
// (MADV_NOHUGEPAGE), so that a later fault maps the kernel's fault-around
// window (64 KiB by default) rather than a whole 2 MiB huge page, then
// unmaps its pages (MADV_DONTNEED). On a private, read-only mapping that
// holds no anonymous page (checked in /proc/self/smaps: no page was ever
// written, relocated or copied on write) this loses nothing: the next
// access faults the same bytes back in from the page cache. Mappings that
// hold anonymous pages, writable mappings and other files are left alone.
//
// The memory is not freed: the page cache keeps the pages, shared by every
// process running the binary, until the kernel reclaims them. RSS read
// after Release therefore reflects the process's working set, its RssFile
// part the pages of the binary it keeps using; its RssAnon part is not
// changed by Release at all.
//
// It returns what it released.
func Release() ([]Mapping, error) {
	exe, err := os.Stat("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("stat own executable: %w", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/smaps: %w", err)
	}
	st, ok := exe.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("stat own executable: no device and inode")
	}
	// The path too: on overlay file systems the maps show the underlying
	// file's device and inode, not those stat gives.
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("read own executable's path: %w", err)
	}
	candidates, err := releasable(smaps, file{dev: uint64(st.Dev), ino: st.Ino, path: path})
	if err != nil {
		return nil, err
	}
	var released []Mapping
	for _, m := range candidates {
		if err := madvise(m.Start, m.End, unix.MADV_NOHUGEPAGE); err != nil {
			return released, fmt.Errorf("madvise(MADV_NOHUGEPAGE) %x-%x: %w", m.Start, m.End, err)
		}
		if err := madvise(m.Start, m.End, unix.MADV_DONTNEED); err != nil {
			return released, fmt.Errorf("madvise(MADV_DONTNEED) %x-%x: %w", m.Start, m.End, err)
		}
		released = append(released, m)
	}
	return released, nil
}

func madvise(start, end uint64, advice int) error {
	// A raw system call: the range is memory the Go runtime did not
	// allocate, so no Go slice stands for it.
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), uintptr(advice)); errno != 0 {
		return errno
	}
	return nil
}

// file identifies the executable in /proc/self/smaps.
type file struct {
	dev, ino uint64
	path     string
}

// releasable parses smaps and returns the private, non-writable mappings of
// exe that hold no anonymous page.
func releasable(smaps []byte, exe file) ([]Mapping, error) {
	var (
		out     []Mapping
		cur     *Mapping
		curAnon uint64
		ok      bool
	)
	flush := func() {
		if cur != nil && ok && curAnon == 0 {
			out = append(out, *cur)
		}
		cur, ok, curAnon = nil, false, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if isHeader(fields[0]) {
			flush()
			m, matches, err := parseHeader(fields, exe)
			if err != nil {
				return nil, err
			}
			cur, ok = &m, matches
			continue
		}
		if cur == nil || len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "Rss:":
			cur.RSSKiB, _ = strconv.ParseUint(fields[1], 10, 64)
		case "Anonymous:":
			v, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				// Unreadable: treat the mapping as not releasable.
				v = 1
			}
			curAnon = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse /proc/self/smaps: %w", err)
	}
	flush()
	return out, nil
}

// isHeader tells a mapping's first line ("start-end perms ...") from its
// "Key: value" lines.
func isHeader(first string) bool {
	return strings.Contains(first, "-") && !strings.HasSuffix(first, ":")
}

// parseHeader parses "start-end perms offset major:minor inode path" and
// says whether the mapping is a private, non-writable one of exe.
func parseHeader(fields []string, exe file) (Mapping, bool, error) {
	if len(fields) < 5 {
		return Mapping{}, false, fmt.Errorf("parse /proc/self/smaps: short mapping line %q", strings.Join(fields, " "))
	}
	lo, hi, found := strings.Cut(fields[0], "-")
	if !found {
		return Mapping{}, false, fmt.Errorf("parse /proc/self/smaps: bad range %q", fields[0])
	}
	start, err := strconv.ParseUint(lo, 16, 64)
	if err != nil {
		return Mapping{}, false, fmt.Errorf("parse /proc/self/smaps: bad range %q: %w", fields[0], err)
	}
	end, err := strconv.ParseUint(hi, 16, 64)
	if err != nil {
		return Mapping{}, false, fmt.Errorf("parse /proc/self/smaps: bad range %q: %w", fields[0], err)
	}
	m := Mapping{Start: start, End: end, Perms: fields[1]}
	perms := fields[1]
	if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
		return m, false, nil
	}
	if len(fields) >= 6 && exe.path != "" && strings.Join(fields[5:], " ") == exe.path {
		return m, true, nil
	}
	major, minor, found := strings.Cut(fields[3], ":")
	if !found {
		return m, false, nil
	}
	maj, err1 := strconv.ParseUint(major, 16, 32)
	mnr, err2 := strconv.ParseUint(minor, 16, 32)
	inode, err3 := strconv.ParseUint(fields[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || inode == 0 {
		return m, false, nil
	}
	return m, unix.Mkdev(uint32(maj), uint32(mnr)) == exe.dev && inode == exe.ino, nil
}
