package main

import (
	"net/netip"
	"slices"
	"testing"
)

func TestPrefixList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"10.244.0.0/16", []string{"10.244.0.0/16"}, false},
		{"10.244.0.0/16, fd00:10:244::/56", []string{"10.244.0.0/16", "fd00:10:244::/56"}, false},
		{"10.244.0.1/16", nil, true},
		{"10.244.0.0", nil, true},
	} {
		var got []netip.Prefix
		err := newPrefixList(&got).Set(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Set(%q): error %v, want error: %t", tc.in, err, tc.wantErr)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if !slices.Equal(s, tc.want) {
			t.Errorf("Set(%q) = %v, want %v", tc.in, s, tc.want)
		}
	}
}
