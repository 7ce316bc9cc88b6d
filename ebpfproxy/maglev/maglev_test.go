package maglev

import (
	"fmt"
	"hash/fnv"
	"math"
	"testing"
)

func names(prefix string, n int) []Backend {
	bs := make([]Backend, n)
	for i := range bs {
		bs[i] = Backend{Name: fmt.Sprintf("%s%d:8080", prefix, i)}
	}
	return bs
}

// owners maps each slot to the owning backend's name.
func owners(t Table, bs []Backend) []string {
	o := make([]string, len(t))
	for i, b := range t {
		o[i] = bs[b].Name
	}
	return o
}

func moved(a, b []string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestNewRejectsNonPrime(t *testing.T) {
	for _, tc := range []struct {
		size uint32
		ok   bool
	}{{0, true}, {251, true}, {16381, true}, {1, false}, {250, false}, {16384, false}} {
		_, err := New(Config{Size: tc.size})
		if (err == nil) != tc.ok {
			t.Errorf("New(Size: %d) error = %v, want ok=%v", tc.size, err, tc.ok)
		}
	}
}

func TestBuildBalance(t *testing.T) {
	for _, tc := range []struct {
		size uint32
		n    int
	}{{251, 1}, {251, 3}, {1021, 10}, {DefaultTableSize, 7}, {DefaultTableSize, 100}} {
		t.Run(fmt.Sprintf("M=%d/N=%d", tc.size, tc.n), func(t *testing.T) {
			b, err := New(Config{Size: tc.size})
			if err != nil {
				t.Fatal(err)
			}
			bs := names("10.244.0.", tc.n)
			table, err := b.Build(bs)
			if err != nil {
				t.Fatal(err)
			}
			if len(table) != int(tc.size) {
				t.Fatalf("table has %d slots, want %d", len(table), tc.size)
			}
			want := float64(tc.size) / float64(tc.n)
			for i, c := range table.Counts(tc.n) {
				// Maglev's round robin keeps every share within one round of even.
				if math.Abs(float64(c)-want) > want*0.02+1 {
					t.Errorf("backend %d owns %d slots, want about %.0f", i, c, want)
				}
			}
		})
	}
}

func TestBuildIsDeterministicAndOrderFree(t *testing.T) {
	b, _ := New(Config{Size: 1021})
	bs := names("10.0.0.", 5)
	reversed := []Backend{bs[4], bs[3], bs[2], bs[1], bs[0]}
	t1, _ := b.Build(bs)
	t2, _ := b.Build(reversed)
	if d := moved(owners(t1, bs), owners(t2, reversed)); d != 0 {
		t.Errorf("input order changed %d slots", d)
	}
	other, _ := New(Config{Size: 1021, Seed: "other"})
	t3, _ := other.Build(bs)
	if d := moved(owners(t1, bs), owners(t3, bs)); d == 0 {
		t.Error("a different seed gave the same table")
	}
}

// TestBuildDisruption is the property Maglev is for: adding or removing one
// of N backends moves about 1/N of the slots, not all of them. Maglev trades
// a little churn beyond the ideal for balance (the paper's figure 12 shows
// the same), hence the 1.6x allowance.
func TestBuildDisruption(t *testing.T) {
	b, _ := New(Config{})
	for _, n := range []int{3, 10, 50} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			bs := names("10.244.1.", n+1)
			base, _ := b.Build(bs[:n])
			grown, _ := b.Build(bs)
			shrunk, _ := b.Build(bs[1:n])
			baseOwners := owners(base, bs[:n])

			add := moved(baseOwners, owners(grown, bs))
			ideal := float64(b.Size()) / float64(n+1)
			newcomer := grown.Counts(n + 1)[n]
			remove := moved(baseOwners, owners(shrunk, bs[1:n]))
			lost := base.Counts(n)[0]
			t.Logf("M=%d N=%d: adding moved %d slots (ideal %.0f, newcomer owns %d); removing moved %d (it owned %d)",
				b.Size(), n, add, ideal, newcomer, remove, lost)

			if add < newcomer || float64(add) > ideal*1.6 {
				t.Errorf("adding a backend moved %d slots, want between %d and %.0f", add, newcomer, ideal*1.6)
			}
			if remove < lost || float64(remove) > float64(lost)*1.6 {
				t.Errorf("removing a backend moved %d slots, want between %d and %.0f", remove, lost, float64(lost)*1.6)
			}
		})
	}
}

func TestBuildWeights(t *testing.T) {
	b, _ := New(Config{Size: 16381})
	bs := []Backend{{Name: "a", Weight: 1}, {Name: "b", Weight: 3}, {Name: "c", Weight: 0}}
	table, err := b.Build(bs)
	if err != nil {
		t.Fatal(err)
	}
	c := table.Counts(3)
	ratio := float64(c[1]) / float64(c[0])
	if ratio < 2.8 || ratio > 3.2 {
		t.Errorf("weight 3 vs 1 owns %d vs %d slots (ratio %.2f)", c[1], c[0], ratio)
	}
	if r := float64(c[2]) / float64(c[0]); r < 0.9 || r > 1.1 {
		t.Errorf("weight 0 should count as 1: %d vs %d slots", c[2], c[0])
	}
}

func TestBuildErrors(t *testing.T) {
	b, _ := New(Config{Size: 3})
	if _, err := b.Build([]Backend{{Name: "a"}, {Name: "a"}}); err == nil {
		t.Error("duplicate names: want an error")
	}
	if _, err := b.Build(names("x", 4)); err == nil {
		t.Error("more backends than slots: want an error")
	}
	if table, err := b.Build(nil); err != nil || table != nil {
		t.Errorf("no backends: got %v, %v", table, err)
	}
}

func BenchmarkBuild(b *testing.B) {
	m, _ := New(Config{})
	bs := names("10.244.2.", 10)
	for b.Loop() {
		if _, err := m.Build(bs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPermutationIsFNV1a pins the in-place hash to hash/fnv's FNV-1a over
// seed, a zero byte and name: tables must not change across versions.
func TestPermutationIsFNV1a(t *testing.T) {
	for _, tc := range []struct{ seed, name string }{
		{"", ""}, {"", "10.0.0.1:80"}, {"node-a", "10.0.0.1:80"}, {"s", "[fd00::1]:8080"},
	} {
		b, err := New(Config{Size: 251, Seed: tc.seed})
		if err != nil {
			t.Fatal(err)
		}
		h := fnv.New64a()
		h.Write([]byte(tc.seed))
		h.Write([]byte{0})
		h.Write([]byte(tc.name))
		x := mix(h.Sum64())
		wantOff, wantSkip := (x>>32)%251, (x&0xffffffff)%250+1
		if off, skip := b.permutation(tc.name); off != wantOff || skip != wantSkip {
			t.Errorf("seed %q name %q: permutation (%d, %d), want (%d, %d)", tc.seed, tc.name, off, skip, wantOff, wantSkip)
		}
	}
}
