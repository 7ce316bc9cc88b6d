package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/handler3"

	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// TestLazyOpenAPI checks the documents the built-in server builds on
// first request: the /openapi/v3 index points at every built-in group
// version with a hash that the group-version document answers to (JSON and
// protobuf, cached as immutable), a stale hash is redirected, and
// /openapi/v2 carries the built-in definitions.
func TestLazyOpenAPI(t *testing.T) {
	ts, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()
	transport, err := rest.TransportFor(ts.Config)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, accept string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}

	_, body := get("/openapi/v3", "application/json")
	var index handler3.OpenAPIV3Discovery
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatalf("decode /openapi/v3: %v", err)
	}
	for _, gv := range []string{"api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1", "apis/apiextensions.k8s.io/v1", "apis/apiregistration.k8s.io/v1"} {
		if _, ok := index.Paths[gv]; !ok {
			t.Errorf("/openapi/v3 does not list %s", gv)
		}
	}

	tests := []struct {
		gv, accept, contentType, schema string
	}{
		{gv: "apis/apps/v1", accept: "application/json", contentType: "application/json", schema: "io.k8s.api.apps.v1.Deployment"},
		{gv: "api/v1", accept: "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", contentType: "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", schema: "io.k8s.api.core.v1.Pod"},
		{gv: "apis/batch/v1", accept: "", contentType: "application/json", schema: "io.k8s.api.batch.v1.Job"},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.gv, "/", "_"), func(t *testing.T) {
			entry, ok := index.Paths[tc.gv]
			if !ok {
				t.Fatalf("/openapi/v3 does not list %s", tc.gv)
			}
			u, err := url.Parse(entry.ServerRelativeURL)
			if err != nil {
				t.Fatal(err)
			}
			hash := u.Query().Get("hash")
			resp, body := get(entry.ServerRelativeURL, tc.accept)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: HTTP %d: %s", entry.ServerRelativeURL, resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := resp.Header.Get("Etag"); got != fmt.Sprintf("%q", hash) {
				t.Errorf("Etag %s, want the index's hash %q", got, hash)
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, immutable" {
				t.Errorf("Cache-Control %q, want public, immutable", got)
			}
			if !strings.Contains(string(body), tc.schema) {
				t.Errorf("%s does not define %s", tc.gv, tc.schema)
			}
			if tc.contentType == "application/json" {
				var doc struct {
					OpenAPI    string `json:"openapi"`
					Components struct {
						Schemas map[string]json.RawMessage `json:"schemas"`
					} `json:"components"`
				}
				if err := json.Unmarshal(body, &doc); err != nil {
					t.Fatalf("decode %s: %v", tc.gv, err)
				}
				if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Components.Schemas[tc.schema] == nil {
					t.Errorf("%s: openapi %q, schema %s present: %v", tc.gv, doc.OpenAPI, tc.schema, doc.Components.Schemas[tc.schema] != nil)
				}
			}

			resp, _ = get("/openapi/v3/"+tc.gv+"?hash=stale", tc.accept)
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != entry.ServerRelativeURL {
				t.Errorf("stale hash: HTTP %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), entry.ServerRelativeURL)
			}
		})
	}

	resp, body := get("/openapi/v2", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/openapi/v2: HTTP %d", resp.StatusCode)
	}
	var v2 struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(body, &v2); err != nil {
		t.Fatalf("decode /openapi/v2: %v", err)
	}
	for _, def := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"} {
		if v2.Definitions[def] == nil {
			t.Errorf("/openapi/v2 does not define %s", def)
		}
	}
}
