package main

import (
	"strings"
	"testing"
)

func TestJoinOptionsValidate(t *testing.T) {
	pin := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		o       joinOptions
		wantErr string
	}{
		{"pinned", joinOptions{server: "https://10.0.0.1:6443", token: "abcdef.0123456789abcdef", caCertHashes: []string{pin}}, ""},
		{"unsafe skip", joinOptions{server: "https://10.0.0.1:6443", token: "abcdef.0123456789abcdef", unsafeSkipCA: true}, ""},
		{"no server", joinOptions{token: "abcdef.0123456789abcdef", caCertHashes: []string{pin}}, "--server is required"},
		{"http server", joinOptions{server: "http://10.0.0.1:6443", token: "abcdef.0123456789abcdef", caCertHashes: []string{pin}}, "want an https:// URL"},
		{"no token", joinOptions{server: "https://10.0.0.1:6443", caCertHashes: []string{pin}}, "--token is required"},
		{"no pin", joinOptions{server: "https://10.0.0.1:6443", token: "abcdef.0123456789abcdef"}, "--discovery-token-unsafe-skip-ca-verification"},
		{"bad pin", joinOptions{server: "https://10.0.0.1:6443", token: "abcdef.0123456789abcdef", caCertHashes: []string{"md5:00"}}, "want the form sha256:<hex>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
