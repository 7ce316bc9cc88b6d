package job

import "testing"

func TestIntervals(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		completions int
		add         []int
		want        string
		total       int
		has, hasNot int
	}{
		{name: "empty", in: "", completions: 5, want: "", total: 0, has: -1, hasNot: 0},
		{name: "merge adjacent", in: "0,2", completions: 5, add: []int{1}, want: "0-2", total: 3, has: 1, hasNot: 3},
		{name: "ranges", in: "1-3,7", completions: 10, add: []int{9, 8}, want: "1-3,7-9", total: 6, has: 8, hasNot: 4},
		{name: "out of range dropped", in: "3-8", completions: 5, want: "3-4", total: 2, has: 4, hasNot: 5},
		{name: "garbage skipped", in: "x,2,5-3", completions: 9, want: "2", total: 1, has: 2, hasNot: 5},
		{name: "duplicates", in: "4", completions: 9, add: []int{4, 4, 0}, want: "0,4", total: 2, has: 0, hasNot: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := parseIntervals(tt.in, tt.completions).with(tt.add)
			if got := v.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if v.total() != tt.total {
				t.Errorf("total() = %d, want %d", v.total(), tt.total)
			}
			if tt.has >= 0 && !v.has(tt.has) {
				t.Errorf("has(%d) = false", tt.has)
			}
			if v.has(tt.hasNot) {
				t.Errorf("has(%d) = true", tt.hasNot)
			}
		})
	}
}

func TestGenerateNameFor(t *testing.T) {
	long := "a23456789012345678901234567890123456789012345678901234567890"
	tests := []struct {
		job   string
		index int
		want  string
	}{
		{"pi", unknownIndex, "pi-"},
		{"pi", 3, "pi-3-"},
		{long, 12, long[:54] + "-12-"},
	}
	for _, tt := range tests {
		if got := generateNameFor(tt.job, tt.index); got != tt.want {
			t.Errorf("generateNameFor(%q, %d) = %q, want %q", tt.job, tt.index, got, tt.want)
		}
	}
}
