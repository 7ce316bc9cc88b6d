package job

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// interval is a closed range of completion indexes.
type interval struct{ first, last int }

// intervals is a sorted list of disjoint, non-adjacent index ranges, the
// form of status.completedIndexes and status.failedIndexes ("1,3-5").
type intervals []interval

// parseIntervals reads an index list, dropping indexes at or above
// completions and anything that does not parse (the API server validates
// what is stored; this is lenient so that a bad value cannot wedge a Job).
func parseIntervals(s string, completions int) intervals {
	var ix []int
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		a, b, found := strings.Cut(part, "-")
		first, err := strconv.Atoi(a)
		if err != nil || first < 0 {
			continue
		}
		last := first
		if found {
			if last, err = strconv.Atoi(b); err != nil || last < first {
				continue
			}
		}
		if last >= completions {
			last = completions - 1
		}
		for i := first; i <= last; i++ {
			ix = append(ix, i)
		}
	}
	return intervals(nil).with(ix)
}

// with returns the union of v and the given indexes.
func (v intervals) with(ix []int) intervals {
	if len(ix) == 0 {
		return v
	}
	all := make([]int, 0, len(ix)+v.total())
	for _, iv := range v {
		for i := iv.first; i <= iv.last; i++ {
			all = append(all, i)
		}
	}
	all = append(all, ix...)
	sort.Ints(all)
	var out intervals
	for _, i := range all {
		if n := len(out); n > 0 && i <= out[n-1].last+1 {
			if i > out[n-1].last {
				out[n-1].last = i
			}
			continue
		}
		out = append(out, interval{i, i})
	}
	return out
}

func (v intervals) has(ix int) bool {
	i := sort.Search(len(v), func(i int) bool { return v[i].last >= ix })
	return i < len(v) && v[i].first <= ix
}

func (v intervals) total() int {
	n := 0
	for _, iv := range v {
		n += iv.last - iv.first + 1
	}
	return n
}

// String formats v as the API does: "0,2-4".
func (v intervals) String() string {
	parts := make([]string, 0, len(v))
	for _, iv := range v {
		if iv.first == iv.last {
			parts = append(parts, strconv.Itoa(iv.first))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", iv.first, iv.last))
		}
	}
	return strings.Join(parts, ",")
}

// countIn is how many indexes of v are also in w.
func (v intervals) countIn(w intervals) int {
	n := 0
	for _, a := range v {
		for _, b := range w {
			lo, hi := max(a.first, b.first), min(a.last, b.last)
			if lo <= hi {
				n += hi - lo + 1
			}
		}
	}
	return n
}
