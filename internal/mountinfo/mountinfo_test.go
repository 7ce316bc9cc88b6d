package mountinfo

import "testing"

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/var/lib/skiff", "/var/lib/skiff"},
		{`/a\040b`, "/a b"},
		{`/a\134b`, `/a\b`},
		{`/a\011b`, "/a\tb"},
	} {
		if got := unescape(tc.in); got != tc.want {
			t.Errorf("unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnderFindsProc(t *testing.T) {
	ms, err := Under("/proc")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		if m == "/proc" {
			found = true
		}
		if m != "/proc" && len(m) < len("/proc/") {
			t.Errorf("%q is not at or below /proc", m)
		}
	}
	if !found {
		t.Errorf("Under(/proc) = %v: /proc itself is missing", ms)
	}
}
