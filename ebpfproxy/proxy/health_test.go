package proxy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProxyHealth(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at     time.Duration
		do     string // "queue", "sync" (a sync that started at the step's time), or "" (just check)
		wantOK bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"unhealthy before the first sync", []step{{0, "", false}, {0, "queue", false}, {time.Second, "", false}}},
		{"healthy after the first sync", []step{{0, "queue", false}, {time.Second, "sync", true}, {time.Hour, "", true}}},
		{"pending within the timeout", []step{{0, "sync", true}, {time.Second, "queue", true}, {59 * time.Second, "", true}}},
		{"stale after the timeout", []step{{0, "sync", true}, {time.Second, "queue", true}, {62 * time.Second, "", false}}},
		{"healthy again once programmed", []step{{0, "sync", true}, {time.Second, "queue", true}, {62 * time.Second, "", false}, {63 * time.Second, "sync", true}}},
		{"a sync that began before the change does not clear it", []step{
			{0, "sync", true}, {10 * time.Second, "queue", true}, {5 * time.Second, "sync", true}, {75 * time.Second, "", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newProxyHealth(0)
			now := t0
			h.now = func() time.Time { return now }
			for i, s := range tc.steps {
				now = t0.Add(s.at)
				switch s.do {
				case "queue":
					h.queued()
				case "sync":
					h.updated(now)
				}
				if ok, _ := h.healthy(); ok != s.wantOK {
					t.Fatalf("step %d (%+v): healthy = %v", i, s, ok)
				}
			}
		})
	}
}

func TestProxyHealthHandler(t *testing.T) {
	h := newProxyHealth(time.Minute)
	srv := httptest.NewServer(h.handler())
	defer srv.Close()
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, body
	}
	for _, p := range []string{"/healthz", "/livez"} {
		if code, _ := get(p); code != http.StatusServiceUnavailable {
			t.Errorf("%s before the first sync: %d, want 503", p, code)
		}
	}
	h.updated(time.Now())
	code, body := get("/healthz")
	if code != http.StatusOK || body["lastUpdated"] == "" || body["nodeEligible"] != true {
		t.Errorf("/healthz after a sync: %d %v", code, body)
	}
	code, body = get("/livez")
	if _, has := body["nodeEligible"]; code != http.StatusOK || has {
		t.Errorf("/livez after a sync: %d %v", code, body)
	}
}
