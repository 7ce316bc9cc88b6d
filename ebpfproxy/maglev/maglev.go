package maglev

import (
	"cmp"
	"fmt"
	"slices"
)

// DefaultTableSize is the default number of slots, a prime; the table costs
// 4 bytes per slot per service in the datapath.
const DefaultTableSize = 16381

// Backend is one entry to place in the table.
type Backend struct {
	// Name identifies the backend stably (for example "10.0.0.1:80"); it alone
	// decides the backend's preferred slots, so the same set of names gives
	// the same table in every process.
	Name string
	// Weight scales the backend's share of slots; 0 counts as 1.
	Weight uint32
}

// Table is a lookup table: each slot holds an index into the backends it
// was built from.
type Table []int

// Config chooses the table size and the hash seed.
type Config struct {
	// Size is the number of slots; it must be a prime. 0 means
	// DefaultTableSize.
	Size uint32
	// Seed perturbs the hash, so that two proxies configured differently
	// place backends differently. Empty is a valid seed.
	Seed string
}

// Builder builds tables of one configuration.
type Builder struct {
	size uint64
	seed string
}

// New validates c and returns a Builder.
func New(c Config) (*Builder, error) {
	if c.Size == 0 {
		c.Size = DefaultTableSize
	}
	if !isPrime(c.Size) {
		return nil, fmt.Errorf("maglev table size %d is not a prime", c.Size)
	}
	return &Builder{size: uint64(c.Size), seed: c.Seed}, nil
}

// Size is the number of slots in the tables b builds.
func (b *Builder) Size() uint32 { return uint32(b.size) }

// permutation returns where the backend's preference list starts and its
// stride; the stride is in [1, M-1], so with M prime the list visits every
// slot exactly once.
func (b *Builder) permutation(name string) (offset, skip uint64) {
	// FNV-1a over seed, a zero byte and name, computed in place (hash/fnv
	// allocates a hasher per call, and a full sync builds thousands of
	// tables).
	h := uint64(fnvOffset)
	for i := range len(b.seed) {
		h = (h ^ uint64(b.seed[i])) * fnvPrime
	}
	h *= fnvPrime // the zero byte
	for i := range len(name) {
		h = (h ^ uint64(name[i])) * fnvPrime
	}
	x := mix(h)
	hi, lo := x>>32, x&0xffffffff
	return hi % b.size, lo%(b.size-1) + 1
}

// Build fills a table for backends. Names must be unique; the order of
// backends does not change which name gets which slot. An empty list gives
// a nil table.
func (b *Builder) Build(backends []Backend) (Table, error) {
	return b.BuildInto(backends, nil)
}

// BuildInto is Build writing into t's storage when it has room for the
// table (callers building many tables reuse one), else into a new table.
func (b *Builder) BuildInto(backends []Backend, t Table) (Table, error) {
	n := len(backends)
	if n == 0 {
		return nil, nil
	}
	if uint64(n) > b.size {
		return nil, fmt.Errorf("%d backends do not fit a maglev table of %d slots", n, b.size)
	}
	// Visit backends in name order so the input order does not matter.
	order := sortedByName(backends)
	// pos is each backend's place in its preference list: it starts at the
	// offset and advances by the stride modulo M.
	pos := make([]uint64, n)
	skip := make([]uint64, n)
	weights := make([]uint64, n)
	var maxWeight uint64
	for i, bi := range order {
		be := backends[bi]
		// Sorted by name, a name listed twice is next to itself.
		if i > 0 && backends[order[i-1]].Name == be.Name {
			return nil, fmt.Errorf("backend %q is listed twice", be.Name)
		}
		pos[i], skip[i] = b.permutation(be.Name)
		weights[i] = weight(be)
		maxWeight = max(maxWeight, weights[i])
	}

	var table Table
	if uint64(cap(t)) >= b.size {
		table = t[:b.size]
	} else {
		table = make(Table, b.size)
	}
	for i := range table {
		table[i] = -1
	}
	// Each turn, a backend earns its weight in credit and takes one slot per
	// maxWeight of credit; with equal weights that is the paper's plain
	// round robin.
	credit := make([]uint64, n)
	filled := uint64(0)
	for filled < b.size {
		for i, bi := range order {
			credit[i] += weights[i]
			for credit[i] >= maxWeight && filled < b.size {
				credit[i] -= maxWeight
				for table[pos[i]] >= 0 {
					pos[i] = advance(pos[i], skip[i], b.size)
				}
				table[pos[i]] = bi
				filled++
				pos[i] = advance(pos[i], skip[i], b.size)
			}
		}
	}
	return table, nil
}

// Counts says how many slots each backend index owns.
func (t Table) Counts(n int) []int {
	c := make([]int, n)
	for _, i := range t {
		c[i]++
	}
	return c
}

func advance(pos, skip, size uint64) uint64 {
	pos += skip
	if pos >= size {
		pos -= size
	}
	return pos
}

// FNV-1a 64-bit parameters.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func weight(b Backend) uint64 {
	if b.Weight == 0 {
		return 1
	}
	return uint64(b.Weight)
}

// mix is the splitmix64 finalizer: FNV alone leaves names that differ in
// one character too close together.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func sortedByName(backends []Backend) []int {
	order := make([]int, len(backends))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(backends[a].Name, backends[b].Name) })
	return order
}

func isPrime(n uint32) bool {
	if n < 2 {
		return false
	}
	for d := uint32(2); uint64(d)*uint64(d) <= uint64(n); d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
