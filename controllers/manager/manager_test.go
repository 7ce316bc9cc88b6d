package manager

import (
	"reflect"
	"testing"

	"github.com/skiff-dev/skiff/controllers"
)

func TestSelect(t *testing.T) {
	available := []controllers.Descriptor{{Name: "a"}, {Name: "b"}, {Name: "c", DisabledByDefault: true}}
	cases := []struct {
		names   []string
		want    []string
		wantErr string
	}{
		{names: nil, want: []string{"a", "b"}},
		{names: []string{"*"}, want: []string{"a", "b"}},
		{names: []string{"*", "-a"}, want: []string{"b"}},
		{names: []string{"*", "c"}, want: []string{"a", "b", "c"}},
		{names: []string{"c"}, want: []string{"c"}},
		{names: []string{"-a"}, want: nil},
		{names: []string{"nope"}, wantErr: `"nope" is not a known controller; known controllers: a, b, c`},
		{names: []string{"-nope"}, wantErr: `"nope" is not a known controller; known controllers: a, b, c`},
	}
	for _, tc := range cases {
		got, err := Select(available, tc.names)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("Select(%v) error = %v, want %q", tc.names, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%v): %v", tc.names, err)
			continue
		}
		var names []string
		for _, d := range got {
			names = append(names, d.Name)
		}
		if !reflect.DeepEqual(names, tc.want) {
			t.Errorf("Select(%v) = %v, want %v", tc.names, names, tc.want)
		}
	}
}
