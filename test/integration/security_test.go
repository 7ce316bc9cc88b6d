package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// anonymous returns an HTTP client that verifies the server but presents
// no credentials.
func anonymous(t *testing.T) *http.Client {
	t.Helper()
	cfg := rest.AnonymousClientConfig(server.Config)
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

func TestAnonymousReachesOnlyPublicInfo(t *testing.T) {
	client := anonymous(t)
	tests := []struct {
		method, path string
		body         string
		wantCode     int
		wantMessage  string
	}{
		{method: "GET", path: "/healthz", wantCode: 200},
		{method: "GET", path: "/livez", wantCode: 200},
		{method: "GET", path: "/readyz", wantCode: 200},
		{method: "GET", path: "/version", wantCode: 200},
		{method: "GET", path: "/api", wantCode: 403, wantMessage: `forbidden: User "system:anonymous" cannot get path "/api"`},
		{method: "GET", path: "/api/v1/namespaces/default/configmaps", wantCode: 403,
			wantMessage: `configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "default"`},
		{method: "POST", path: "/api/v1/namespaces/default/configmaps", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"anon"}}`, wantCode: 403,
			wantMessage: `configmaps is forbidden: User "system:anonymous" cannot create resource "configmaps" in API group "" in the namespace "default"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, server.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantCode, body)
			}
			if tt.wantMessage == "" {
				return
			}
			var status metav1.Status
			if err := json.Unmarshal(body, &status); err != nil {
				t.Fatalf("body is not a Status: %v: %s", err, body)
			}
			if status.Reason != metav1.StatusReasonForbidden || status.Kind != "Status" || !strings.Contains(status.Message, tt.wantMessage) {
				t.Fatalf("got reason %q message %q, want Forbidden containing %q", status.Reason, status.Message, tt.wantMessage)
			}
		})
	}
}

func TestBadCredentialsAre401(t *testing.T) {
	cfg := rest.AnonymousClientConfig(server.Config)
	cfg.BearerToken = "not-a-valid-token"
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Get(server.URL + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var status metav1.Status
	_ = json.Unmarshal(body, &status)
	if resp.StatusCode != http.StatusUnauthorized || status.Reason != metav1.StatusReasonUnauthorized || status.Message != "Unauthorized" {
		t.Fatalf("got %d %q %q, want 401 Unauthorized", resp.StatusCode, status.Reason, status.Message)
	}
}

func TestPlainHTTPIsRefused(t *testing.T) {
	// The secure port speaks only TLS: a plain-HTTP client gets no API.
	resp, err := http.Get(strings.Replace(server.URL, "https://", "http://", 1) + "/api")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP request to the secure port succeeded")
		}
	}
}

func TestTokenReview(t *testing.T) {
	client := admin(t)
	tests := []struct {
		name       string
		body       string
		wantCode   int
		wantReason metav1.StatusReason
		wantInBody string
	}{
		{name: "no token", body: `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantInBody: "token is required for TokenReview in authentication"},
		{name: "unknown token", body: `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"nope"}}`, wantCode: 201, wantInBody: `"kind":"TokenReview"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, status, body := send(t, client, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", "application/json", []byte(tt.body))
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", code, tt.wantCode, body)
			}
			if tt.wantReason != "" && (status == nil || status.Reason != tt.wantReason) {
				t.Fatalf("reason %v, want %q: %s", status, tt.wantReason, body)
			}
			if !strings.Contains(string(body), tt.wantInBody) {
				t.Fatalf("body lacks %q: %s", tt.wantInBody, body)
			}
		})
	}
}
