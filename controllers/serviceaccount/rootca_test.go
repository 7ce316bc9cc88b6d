package serviceaccount

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/controllers"
)

func TestRootCA(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ca.crt")
	cfgFile := filepath.Join(dir, "cfg-ca.crt")
	if err := os.WriteFile(file, []byte("from-option"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte("from-config-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		c       controllers.Context
		want    string
		wantErr bool
	}{
		{name: "RootCAFile wins", c: controllers.Context{Options: controllers.Options{RootCAFile: file}, RESTConfig: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: []byte("from-config")}}}, want: "from-option"},
		{name: "REST config CA data", c: controllers.Context{RESTConfig: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: []byte("from-config")}}}, want: "from-config"},
		{name: "REST config CA file", c: controllers.Context{RESTConfig: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: cfgFile}}}, want: "from-config-file"},
		{name: "none", c: controllers.Context{RESTConfig: &rest.Config{}}, want: ""},
		{name: "missing file", c: controllers.Context{Options: controllers.Options{RootCAFile: filepath.Join(dir, "nope")}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RootCA(tc.c)
			if (err != nil) != tc.wantErr || string(got) != tc.want {
				t.Errorf("RootCA = %q, %v; want %q, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
