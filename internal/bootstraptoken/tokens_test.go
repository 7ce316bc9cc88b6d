package bootstraptoken

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewTokenAndSecretRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		name    string
		opts    CreateOptions
		wantErr string
		check   func(t *testing.T, tok Token)
	}{
		{name: "defaults", opts: CreateOptions{TTL: DefaultTTL, Now: clock}, check: func(t *testing.T, tok Token) {
			if !slices.Equal(tok.Usages, []string{"authentication", "signing"}) || !slices.Equal(tok.Groups, []string{DefaultGroup}) {
				t.Errorf("usages %v groups %v", tok.Usages, tok.Groups)
			}
			if tok.Expires == nil || !tok.Expires.Equal(now.Add(24*time.Hour)) {
				t.Errorf("expires %v", tok.Expires)
			}
		}},
		{name: "given token, no expiry, description", opts: CreateOptions{Token: "abcdef.0123456789abcdef", Description: "d", Now: clock}, check: func(t *testing.T, tok Token) {
			if tok.String() != "abcdef.0123456789abcdef" || tok.Expires != nil || tok.Description != "d" {
				t.Errorf("token %+v", tok)
			}
		}},
		{name: "no groups", opts: CreateOptions{Groups: []string{}, Now: clock}, check: func(t *testing.T, tok Token) {
			if len(tok.Groups) != 0 {
				t.Errorf("groups %v", tok.Groups)
			}
		}},
		{name: "malformed token", opts: CreateOptions{Token: "ABCDEF.0123456789abcdef"}, wantErr: "not of the form"},
		{name: "unknown usage", opts: CreateOptions{Usages: []string{"signing", "flying"}}, wantErr: "flying"},
		{name: "no usage", opts: CreateOptions{Usages: []string{}}, wantErr: "at least one usage"},
		{name: "group outside system:bootstrappers", opts: CreateOptions{Groups: []string{"system:masters"}}, wantErr: "system:masters"},
		{name: "negative ttl", opts: CreateOptions{TTL: -time.Second}, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := newToken(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, tok)
			back, err := FromSecret(tok.ToSecret())
			if err != nil {
				t.Fatalf("FromSecret(ToSecret()): %v", err)
			}
			if back.String() != tok.String() || back.Description != tok.Description || !slices.Equal(back.Usages, tok.Usages) ||
				!slices.Equal(back.Groups, tok.Groups) || (back.Expires == nil) != (tok.Expires == nil) {
				t.Errorf("round trip %+v, want %+v", back, tok)
			}
		})
	}
}

func TestFromSecretRejects(t *testing.T) {
	t.Parallel()
	good := Token{ID: "abcdef", Secret: "0123456789abcdef", Usages: []string{"signing"}}
	tests := []struct {
		name   string
		mutate func(s map[string][]byte)
		rename string
	}{
		{name: "name differs from token-id", rename: "bootstrap-token-zzzzzz"},
		{name: "short secret", mutate: func(d map[string][]byte) { d["token-secret"] = []byte("short") }},
		{name: "bad expiration", mutate: func(d map[string][]byte) { d["expiration"] = []byte("soon") }},
		{name: "bad group", mutate: func(d map[string][]byte) { d["auth-extra-groups"] = []byte("admins") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := good.ToSecret()
			if tt.rename != "" {
				s.Name = tt.rename
			}
			if tt.mutate != nil {
				tt.mutate(s.Data)
			}
			if _, err := FromSecret(s); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestPrintList(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	exp := now.Add(23*time.Hour + 30*time.Minute)
	var buf bytes.Buffer
	err := PrintList(&buf, []Token{
		{ID: "abcdef", Secret: "0123456789abcdef", Expires: &exp, Usages: []string{"authentication", "signing"}, Groups: []string{DefaultGroup}, Description: "node join"},
		{ID: "zyxwvu", Secret: "0123456789abcdef", Usages: []string{"signing"}},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION   EXTRA GROUPS",
		"abcdef.0123456789abcdef   23h         2026-12-03T11:30:00Z   authentication,signing   node join     system:bootstrappers:kubeadm:default-node-token",
		"zyxwvu.0123456789abcdef   <forever>   <never>                signing                  <none>        <none>",
	}
	got := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	for i := range got {
		got[i] = strings.TrimRight(got[i], " ")
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
