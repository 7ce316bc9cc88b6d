package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// admin returns an HTTP client with the admin's credentials.
func admin(t testing.TB) *http.Client {
	t.Helper()
	tr, err := rest.TransportFor(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

// send makes a request and returns the status code and decoded Status (if
// the body is one).
func send(t testing.TB, client *http.Client, method, path, contentType string, body []byte) (int, *metav1.Status, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, server.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var status metav1.Status
	if json.Unmarshal(data, &status) == nil && status.Kind == "Status" {
		return resp.StatusCode, &status, data
	}
	return resp.StatusCode, nil, data
}

func TestBadInputGetsA4xxStatus(t *testing.T) {
	client := admin(t)
	const cms = "/api/v1/namespaces/default/configmaps"
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		wantCode    int
		wantReason  metav1.StatusReason
		wantMessage string
	}{
		{name: "malformed JSON", method: "POST", path: cms, contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap",`),
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "malformed YAML", method: "POST", path: cms, contentType: "application/yaml", body: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: [\n"),
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "garbage protobuf", method: "POST", path: cms, contentType: "application/vnd.kubernetes.protobuf", body: []byte("k8s\x00\n\x0f\x99\x98garbage"),
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "wrong kind", method: "POST", path: cms, contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`),
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "unsupported media type", method: "POST", path: cms, contentType: "text/plain", body: []byte(`hello`),
			wantCode: 415, wantReason: metav1.StatusReasonUnsupportedMediaType},
		{name: "oversized body", method: "POST", path: cms, contentType: "application/json",
			body:     []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("x", 4<<20) + `"}}`),
			wantCode: 413, wantReason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "bad name", method: "POST", path: cms, contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}`),
			wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"`},
		{name: "no name", method: "POST", path: cms, contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`),
			wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `metadata.name: Required value: name or generateName is required`},
		{name: "invalid data key", method: "POST", path: cms, contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"badkey"},"data":{"a b":"c"}}`),
			wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `data[a b]: Invalid value: "a b"`},
		{name: "strict unknown field", method: "POST", path: cms + "?fieldValidation=Strict", contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"bogusField":1}`),
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: `strict decoding error: unknown field "bogusField"`},
		{name: "namespace mismatch", method: "POST", path: cms, contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"other"}}`),
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: `the namespace of the provided object does not match the namespace sent on the request`},
		{name: "missing namespace", method: "POST", path: "/api/v1/namespaces/does-not-exist/configmaps", contentType: "application/json", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`),
			wantCode: 404, wantReason: metav1.StatusReasonNotFound, wantMessage: `namespaces "does-not-exist" not found`},
		{name: "delete default namespace", method: "DELETE", path: "/api/v1/namespaces/default", contentType: "application/json",
			wantCode: 403, wantReason: metav1.StatusReasonForbidden, wantMessage: `this namespace may not be deleted`},
		{name: "malformed JSON patch", method: "PATCH", path: "/api/v1/namespaces/default", contentType: "application/json-patch+json", body: []byte(`[{"op":`),
			wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		// As upstream: a well-formed patch that cannot be applied is 422.
		{name: "inapplicable JSON patch", method: "PATCH", path: "/api/v1/namespaces/default", contentType: "application/json-patch+json", body: []byte(`[{"op":"frobnicate"}]`),
			wantCode: 422, wantReason: metav1.StatusReasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, status, body := send(t, client, tt.method, tt.path, tt.contentType, tt.body)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %.300s", code, tt.wantCode, body)
			}
			if status == nil {
				t.Fatalf("body is not a Status: %.300s", body)
			}
			if status.Reason != tt.wantReason {
				t.Errorf("reason %q, want %q (%s)", status.Reason, tt.wantReason, status.Message)
			}
			if !strings.Contains(status.Message, tt.wantMessage) {
				t.Errorf("message %q does not contain %q", status.Message, tt.wantMessage)
			}
		})
	}
}

// FuzzCreate sends arbitrary bodies to create endpoints with each content
// type; the server must answer with a Status and never a 5xx.
func FuzzCreate(f *testing.F) {
	seeds := []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz","labels":{"a":"b"}},"data":{"k":"v"},"binaryData":{"b":"AAA="}}`,
		`{"apiVersion":"v1","kind":"Secret","metadata":{"generateName":"f-"},"type":"kubernetes.io/tls","data":{}}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r"},"rules":[{"verbs":["get"],"resources":["pods"],"apiGroups":[""]}]}`,
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n",
		"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap\x12\x00",
		`{"metadata":{"name":"` + strings.Repeat("a", 300) + `"}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`,
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":1}]}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`,
		`{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},"spec":{"schedule":"bad","jobTemplate":{"spec":{"template":{"spec":{"containers":[]}}}}}}`,
		`{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"h"},"spec":{"maxReplicas":0,"scaleTargetRef":{"kind":"Deployment","name":"d"}}}`,
		`{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"},"eventTime":"2026-01-01T00:00:00.000000Z"}`,
		`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p"}}`,
		`[]`, `null`, `{"apiVersion":1}`,
	}
	paths := []string{
		"/api/v1/namespaces/default/configmaps",
		"/api/v1/namespaces/default/secrets",
		"/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
		"/apis/coordination.k8s.io/v1/namespaces/default/leases",
		"/api/v1/namespaces",
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
		"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
		"/api/v1/namespaces/default/pods",
		"/api/v1/namespaces/default/services",
		"/api/v1/nodes",
		"/api/v1/persistentvolumes",
		"/api/v1/namespaces/default/pods/p/binding",
		"/api/v1/namespaces/default/pods/p/eviction",
		"/apis/apps/v1/namespaces/default/deployments",
		"/apis/apps/v1/namespaces/default/statefulsets",
		"/apis/batch/v1/namespaces/default/jobs",
		"/apis/batch/v1/namespaces/default/cronjobs",
		"/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
		"/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
		"/apis/policy/v1/namespaces/default/poddisruptionbudgets",
		"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
		"/apis/networking.k8s.io/v1/namespaces/default/ingresses",
		"/apis/networking.k8s.io/v1/ipaddresses",
		"/apis/storage.k8s.io/v1/storageclasses",
		"/apis/scheduling.k8s.io/v1/priorityclasses",
		"/apis/certificates.k8s.io/v1/certificatesigningrequests",
		"/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
		"/apis/resource.k8s.io/v1/namespaces/default/resourceclaims",
		"/apis/events.k8s.io/v1/namespaces/default/events",
		"/api/v1/namespaces/default/bindings",
		"/api/v1/namespaces/default/endpoints",
		"/api/v1/namespaces/default/events",
		"/api/v1/namespaces/default/limitranges",
		"/api/v1/namespaces/default/persistentvolumeclaims",
		"/api/v1/namespaces/default/podtemplates",
		"/api/v1/namespaces/default/replicationcontrollers",
		"/api/v1/namespaces/default/resourcequotas",
		"/api/v1/namespaces/default/serviceaccounts",
		"/apis/apps/v1/namespaces/default/controllerrevisions",
		"/apis/apps/v1/namespaces/default/daemonsets",
		"/apis/apps/v1/namespaces/default/replicasets",
		"/apis/networking.k8s.io/v1/ingressclasses",
		"/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
		"/apis/networking.k8s.io/v1/servicecidrs",
		"/apis/storage.k8s.io/v1/csidrivers",
		"/apis/storage.k8s.io/v1/csinodes",
		"/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
		"/apis/storage.k8s.io/v1/volumeattachments",
		"/apis/storage.k8s.io/v1/volumeattributesclasses",
		"/apis/node.k8s.io/v1/runtimeclasses",
		"/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
		"/apis/resource.k8s.io/v1/deviceclasses",
		"/apis/resource.k8s.io/v1/namespaces/default/resourceclaimtemplates",
		"/apis/resource.k8s.io/v1/resourceslices",
		"/apis/resource.k8s.io/v1/devicetaintrules",
		"/apis/certificates.k8s.io/v1/clustertrustbundles",
		"/apis/certificates.k8s.io/v1/namespaces/default/podcertificaterequests",
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
		"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
		"/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies",
		"/apis/rbac.authorization.k8s.io/v1/clusterroles",
		"/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
		"/apis/storagemigration.k8s.io/v1/storageversionmigrations",
		"/apis/authentication.k8s.io/v1/tokenreviews",
		"/apis/authorization.k8s.io/v1/subjectaccessreviews",
	}
	// Every seed goes to every path (content types in turn), so a plain
	// `go test` run, which runs the seeds only, reaches every endpoint.
	for i, s := range seeds {
		for j := range paths {
			f.Add([]byte(s), uint8((i+j)%3), uint8(j))
		}
	}
	types := []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	client := admin(f)
	f.Fuzz(func(t *testing.T, body []byte, ct uint8, path uint8) {
		p := paths[int(path)%len(paths)] + "?dryRun=All"
		code, _, data := send(t, client, "POST", p, types[int(ct)%len(types)], body)
		if code >= 500 {
			t.Fatalf("POST %s with %q: %d %.300s", p, body, code, data)
		}
	})
}
