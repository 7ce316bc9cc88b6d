package tokencleaner

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestExpiration(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		data        map[string][]byte
		wantTTL     time.Duration
		wantExpired bool
	}{
		{name: "no expiration never expires"},
		{name: "unparseable never expires", data: map[string][]byte{ExpirationKey: []byte("tomorrow")}},
		{name: "past", data: map[string][]byte{ExpirationKey: []byte("2026-01-01T11:00:00Z")}, wantExpired: true},
		{name: "exactly now", data: map[string][]byte{ExpirationKey: []byte("2026-01-01T12:00:00Z")}, wantExpired: true},
		{name: "future", data: map[string][]byte{ExpirationKey: []byte("2026-01-01T13:30:00+01:00")}, wantTTL: 30 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ttl, expired := Expiration(&corev1.Secret{Data: tc.data}, now)
			if ttl != tc.wantTTL || expired != tc.wantExpired {
				t.Errorf("ttl=%v expired=%v, want %v %v", ttl, expired, tc.wantTTL, tc.wantExpired)
			}
		})
	}
}
