package serviceaccounttoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/authn/serviceaccount"
)

const (
	testNS     = "team-a"
	testIssuer = "https://kubernetes.default.svc"
)

// getterFunc adapts a lister lookup to rest.Getter, reading the namespace
// from the context as a namespaced store does.
type getterFunc func(namespace, name string) (runtime.Object, error)

func (f getterFunc) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	namespace, _ := genericapirequest.NamespaceFrom(ctx)
	return f(namespace, name)
}

// fixture holds the stored objects, served by client-go listers over
// indexers.
type fixture struct {
	saLister     corev1listers.ServiceAccountLister
	podLister    corev1listers.PodLister
	secretLister corev1listers.SecretLister
	nodeLister   corev1listers.NodeLister
	key          *ecdsa.PrivateKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	indexer := func(objs ...any) cache.Indexer {
		idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		for _, obj := range objs {
			if err := idx.Add(obj); err != nil {
				t.Fatal(err)
			}
		}
		return idx
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		saLister: corev1listers.NewServiceAccountLister(indexer(
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "builder", UID: "sa-uid"}},
		)),
		podLister: corev1listers.NewPodLister(indexer(
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "web-0", UID: "pod-uid"}, Spec: corev1.PodSpec{ServiceAccountName: "builder", NodeName: "node-1"}},
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "orphan", UID: "orphan-uid"}, Spec: corev1.PodSpec{ServiceAccountName: "builder", NodeName: "gone"}},
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "other", UID: "other-uid"}, Spec: corev1.PodSpec{ServiceAccountName: "default"}},
		)),
		secretLister: corev1listers.NewSecretLister(indexer(
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "bound", UID: "secret-uid"}},
		)),
		nodeLister: corev1listers.NewNodeLister(indexer(
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "node-uid"}},
		)),
		key: key,
	}
}

func (f *fixture) config(t *testing.T) Config {
	t.Helper()
	generator, err := serviceaccount.NewGenerator(testIssuer, f.key)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		ServiceAccounts: getterFunc(func(ns, name string) (runtime.Object, error) {
			sa, err := f.saLister.ServiceAccounts(ns).Get(name)
			if err != nil {
				return nil, err
			}
			return sa, nil
		}),
		Pods: getterFunc(func(ns, name string) (runtime.Object, error) {
			pod, err := f.podLister.Pods(ns).Get(name)
			if err != nil {
				return nil, err
			}
			return pod, nil
		}),
		Secrets: getterFunc(func(ns, name string) (runtime.Object, error) {
			secret, err := f.secretLister.Secrets(ns).Get(name)
			if err != nil {
				return nil, err
			}
			return secret, nil
		}),
		Nodes: getterFunc(func(_, name string) (runtime.Object, error) {
			node, err := f.nodeLister.Get(name)
			if err != nil {
				return nil, err
			}
			return node, nil
		}),
		Generator:             generator,
		APIAudiences:          authenticator.Audiences{"api", "api-2"},
		ExtendExpiration:      true,
		MaxExtendedExpiration: serviceaccount.ExpirationExtensionSeconds * time.Second,
	}
}

// payload decodes the claims of a compact JWT.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// near reports whether unix seconds got is within 5 s of want.
func near(got any, want time.Time) bool {
	seconds, ok := got.(float64)
	return ok && time.Unix(int64(seconds), 0).Sub(want).Abs() <= 5*time.Second
}

func TestCreate(t *testing.T) {
	podRef := func(name string, uid types.UID) *authenticationv1.BoundObjectReference {
		return &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: name, UID: uid}
	}
	tests := []struct {
		name   string
		config func(*Config)
		req    *authenticationv1.TokenRequest
		// check inspects a successful response and the token's claims.
		check func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any)
	}{
		{
			name: "defaults",
			req:  &authenticationv1.TokenRequest{},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if out.Name != "builder" || out.Namespace != testNS || out.UID != "sa-uid" {
					t.Errorf("metadata = %+v", out.ObjectMeta)
				}
				if got := ptr.Deref(out.Spec.ExpirationSeconds, 0); got != 3600 {
					t.Errorf("expirationSeconds = %d, want 3600", got)
				}
				if !reflect.DeepEqual(out.Spec.Audiences, []string{"api", "api-2"}) || !reflect.DeepEqual(claims["aud"], []any{"api", "api-2"}) {
					t.Errorf("audiences = %q, aud claim = %v", out.Spec.Audiences, claims["aud"])
				}
				if d := time.Until(out.Status.ExpirationTimestamp.Time); d < time.Hour-5*time.Second || d > time.Hour {
					t.Errorf("expirationTimestamp in %v, want 1h", d)
				}
				if exp := int64(claims["exp"].(float64)); exp < out.Status.ExpirationTimestamp.Unix() {
					t.Errorf("exp %d before status expiration %v", exp, out.Status.ExpirationTimestamp)
				}
				if claims["iss"] != testIssuer || claims["sub"] != "system:serviceaccount:team-a:builder" {
					t.Errorf("iss/sub = %v/%v", claims["iss"], claims["sub"])
				}
			},
		},
		{
			name: "explicit audiences and expiration",
			req: &authenticationv1.TokenRequest{
				ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: testNS, UID: "sa-uid"},
				Spec:       authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}, ExpirationSeconds: ptr.To[int64](600)},
			},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if !reflect.DeepEqual(claims["aud"], []any{"vault"}) || !near(claims["exp"], time.Now().Add(10*time.Minute)) {
					t.Errorf("aud = %v exp = %v", claims["aud"], claims["exp"])
				}
			},
		},
		{
			name:   "max expiration shortens the token",
			config: func(c *Config) { c.MaxExpiration = 2 * time.Hour },
			req:    &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](86400)}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if got := *out.Spec.ExpirationSeconds; got != 7200 || !near(claims["exp"], time.Now().Add(2*time.Hour)) {
					t.Errorf("expirationSeconds = %d exp = %v, want 7200", got, claims["exp"])
				}
			},
		},
		{
			name: "pod-bound token records the pod and its node",
			req:  &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: podRef("web-0", "pod-uid")}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				k8s := claims["kubernetes.io"].(map[string]any)
				if !reflect.DeepEqual(k8s["pod"], map[string]any{"name": "web-0", "uid": "pod-uid"}) || !reflect.DeepEqual(k8s["node"], map[string]any{"name": "node-1", "uid": "node-uid"}) {
					t.Errorf("kubernetes.io = %v", k8s)
				}
			},
		},
		{
			name: "pod on a missing node records the node's name only",
			req:  &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: podRef("orphan", "")}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if node := claims["kubernetes.io"].(map[string]any)["node"]; !reflect.DeepEqual(node, map[string]any{"name": "gone"}) {
					t.Errorf("node claim = %v", node)
				}
			},
		},
		{
			name:   "pod-bound token without a node getter records the node's name only",
			config: func(c *Config) { c.Nodes = nil },
			req:    &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: podRef("web-0", "")}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if node := claims["kubernetes.io"].(map[string]any)["node"]; !reflect.DeepEqual(node, map[string]any{"name": "node-1"}) {
					t.Errorf("node claim = %v", node)
				}
			},
		},
		{
			name: "extended pod-bound token",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				ExpirationSeconds: ptr.To[int64](serviceaccount.WarnOnlyBoundTokenExpirationSeconds),
				BoundObjectRef:    podRef("web-0", ""),
			}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				nowTime := time.Now()
				warnAfter := claims["kubernetes.io"].(map[string]any)["warnafter"]
				if !near(claims["exp"], nowTime.Add(serviceaccount.ExpirationExtensionSeconds*time.Second)) || !near(warnAfter, nowTime.Add(3607*time.Second)) {
					t.Errorf("exp = %v warnafter = %v", claims["exp"], warnAfter)
				}
				if d := time.Until(out.Status.ExpirationTimestamp.Time); d > 3607*time.Second || d < 3600*time.Second {
					t.Errorf("status expiration in %v, want the requested 3607s", d)
				}
			},
		},
		{
			name:   "extension defaults to one year",
			config: func(c *Config) { c.MaxExtendedExpiration = 0 },
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				ExpirationSeconds: ptr.To[int64](serviceaccount.WarnOnlyBoundTokenExpirationSeconds),
				BoundObjectRef:    podRef("web-0", ""),
			}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if !near(claims["exp"], time.Now().Add(365*24*time.Hour)) {
					t.Errorf("exp = %v, want a year from now", claims["exp"])
				}
			},
		},
		{
			name:   "no extension without ExtendExpiration",
			config: func(c *Config) { c.ExtendExpiration = false },
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				ExpirationSeconds: ptr.To[int64](serviceaccount.WarnOnlyBoundTokenExpirationSeconds),
				BoundObjectRef:    podRef("web-0", ""),
			}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if !near(claims["exp"], time.Now().Add(3607*time.Second)) {
					t.Errorf("exp = %v, want the requested 3607s", claims["exp"])
				}
			},
		},
		{
			name: "no extension for other audiences",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				Audiences:         []string{"vault"},
				ExpirationSeconds: ptr.To[int64](serviceaccount.WarnOnlyBoundTokenExpirationSeconds),
				BoundObjectRef:    podRef("web-0", ""),
			}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if !near(claims["exp"], time.Now().Add(3607*time.Second)) || claims["kubernetes.io"].(map[string]any)["warnafter"] != nil {
					t.Errorf("claims = %v", claims)
				}
			},
		},
		{
			name: "secret-bound token",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "bound", UID: "secret-uid"},
			}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				if secret := claims["kubernetes.io"].(map[string]any)["secret"]; !reflect.DeepEqual(secret, map[string]any{"name": "bound", "uid": "secret-uid"}) {
					t.Errorf("secret claim = %v", secret)
				}
			},
		},
		{
			name: "node-bound token",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Node", APIVersion: "v1", Name: "node-1"},
			}},
			check: func(t *testing.T, out *authenticationv1.TokenRequest, claims map[string]any) {
				k8s := claims["kubernetes.io"].(map[string]any)
				if !reflect.DeepEqual(k8s["node"], map[string]any{"name": "node-1", "uid": "node-uid"}) || k8s["pod"] != nil {
					t.Errorf("kubernetes.io = %v", k8s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			cfg := f.config(t)
			if tt.config != nil {
				tt.config(&cfg)
			}
			r, err := NewREST(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := genericapirequest.WithNamespace(context.Background(), testNS)
			var validated *authenticationv1.TokenRequest
			validate := func(_ context.Context, obj runtime.Object) error {
				validated = obj.(*authenticationv1.TokenRequest)
				return nil
			}
			obj, err := r.Create(ctx, "builder", tt.req, validate, &metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out := obj.(*authenticationv1.TokenRequest)
			if out.Status.Token == "" {
				t.Fatal("no token issued")
			}
			if validated == nil || validated.Spec.ExpirationSeconds == nil || len(validated.Spec.Audiences) == 0 || validated.Status.Token != "" {
				t.Errorf("createValidation got %+v, want the defaulted request without a token", validated)
			}
			tt.check(t, out, payload(t, out.Status.Token))

			// The issued token authenticates for its audiences.
			a, err := serviceaccount.NewAuthenticator(serviceaccount.Config{
				Issuers:      []string{testIssuer},
				Keys:         []crypto.PublicKey{f.key.Public()},
				APIAudiences: cfg.APIAudiences,
				Getter:       serviceaccount.NewListerGetter(f.saLister, f.secretLister, f.podLister, f.nodeLister),
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, ok, err := a.AuthenticateToken(authenticator.WithAudiences(context.Background(), out.Spec.Audiences), out.Status.Token)
			if err != nil || !ok || resp.User.GetName() != "system:serviceaccount:team-a:builder" || resp.User.GetUID() != "sa-uid" {
				t.Fatalf("authenticating the issued token: (%v, %v, %v)", resp, ok, err)
			}
		})
	}
}

func TestCreateErrors(t *testing.T) {
	tests := []struct {
		name       string
		noNS       bool
		saName     string
		config     func(*Config)
		req        *authenticationv1.TokenRequest
		validation error
		wantReason metav1.StatusReason
		wantField  string
		wantMsg    string
	}{
		{
			name:       "namespace missing from the request",
			noNS:       true,
			req:        &authenticationv1.TokenRequest{},
			wantReason: metav1.StatusReasonBadRequest,
			wantMsg:    "namespace is required",
		},
		{
			name:       "body name differs from the URL",
			req:        &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
			wantReason: metav1.StatusReasonInvalid,
			wantField:  "metadata.name",
			wantMsg:    `TokenRequest.authentication.k8s.io "builder" is invalid: metadata.name: Invalid value: "other": must match the service account name if specified`,
		},
		{
			name:       "body namespace differs from the URL",
			req:        &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b"}},
			wantReason: metav1.StatusReasonInvalid,
			wantField:  "metadata.namespace",
			wantMsg:    `metadata.namespace: Invalid value: "team-b": must match the service account namespace if specified`,
		},
		{
			name:       "service account not found",
			saName:     "ghost",
			req:        &authenticationv1.TokenRequest{},
			wantReason: metav1.StatusReasonNotFound,
			wantMsg:    `serviceaccount "ghost" not found`,
		},
		{
			name:       "request UID differs from the service account's",
			req:        &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{UID: "stale"}},
			wantReason: metav1.StatusReasonConflict,
			wantMsg:    `Operation cannot be fulfilled on TokenRequest.authentication.k8s.io "builder": the UID in the token request (stale) does not match the UID of the service account (sa-uid)`,
		},
		{
			name:       "expiration under 10 minutes",
			req:        &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](599)}},
			wantReason: metav1.StatusReasonInvalid,
			wantField:  "spec.expirationSeconds",
			wantMsg:    `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes`,
		},
		{
			name:       "expiration over 2^32 seconds",
			req:        &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](1<<32 + 1)}},
			wantReason: metav1.StatusReasonInvalid,
			wantField:  "spec.expirationSeconds",
			wantMsg:    "spec.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds",
		},
		{
			name:       "admission rejects",
			req:        &authenticationv1.TokenRequest{},
			validation: apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "builder", errors.New("denied")),
			wantReason: metav1.StatusReasonForbidden,
			wantMsg:    "denied",
		},
		{
			name: "bound pod UID mismatch",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web-0", UID: "old-pod-uid"},
			}},
			wantReason: metav1.StatusReasonConflict,
			wantMsg:    `Operation cannot be fulfilled on Pod "web-0": the UID in the bound object reference (old-pod-uid) does not match the UID in record. The object might have been deleted and then recreated`,
		},
		{
			name: "bound secret UID mismatch",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "bound", UID: "old"},
			}},
			wantReason: metav1.StatusReasonConflict,
			wantMsg:    `Operation cannot be fulfilled on Secret "bound": the UID in the bound object reference (old) does not match`,
		},
		{
			name: "bound pod runs as another service account",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "other"},
			}},
			wantReason: metav1.StatusReasonBadRequest,
			wantMsg:    `cannot bind token for serviceaccount "builder" to pod running with different serviceaccount name.`,
		},
		{
			name: "bound pod not found",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "ghost"},
			}},
			wantReason: metav1.StatusReasonNotFound,
			wantMsg:    `pod "ghost" not found`,
		},
		{
			name: "bound node not found",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Node", APIVersion: "v1", Name: "ghost"},
			}},
			wantReason: metav1.StatusReasonNotFound,
			wantMsg:    `node "ghost" not found`,
		},
		{
			name: "unsupported bound kind",
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Name: "web"},
			}},
			wantReason: metav1.StatusReasonBadRequest,
			wantMsg:    "cannot bind token to object of type apps/v1, Kind=Deployment",
		},
		{
			name:   "secrets not served",
			config: func(c *Config) { c.Secrets = nil },
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: "bound"},
			}},
			wantReason: metav1.StatusReasonBadRequest,
			wantMsg:    "cannot bind token to object of type /v1, Kind=Secret: this server does not look up Secrets for tokens",
		},
		{
			name:   "pods not served",
			config: func(c *Config) { c.Pods = nil },
			req: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web-0"},
			}},
			wantReason: metav1.StatusReasonBadRequest,
			wantMsg:    "cannot bind token to object of type /v1, Kind=Pod: this server does not look up Pods for tokens",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newFixture(t).config(t)
			if tt.config != nil {
				tt.config(&cfg)
			}
			r, err := NewREST(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if !tt.noNS {
				ctx = genericapirequest.WithNamespace(ctx, testNS)
			}
			saName := "builder"
			if tt.saName != "" {
				saName = tt.saName
			}
			var validate rest.ValidateObjectFunc
			if tt.validation != nil {
				validate = func(context.Context, runtime.Object) error { return tt.validation }
			}
			obj, err := r.Create(ctx, saName, tt.req, validate, &metav1.CreateOptions{})
			if err == nil {
				t.Fatalf("Create returned %v, want an error", obj)
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) {
				t.Fatalf("error %v (%T) is not an API status", err, err)
			}
			if got := status.Status().Reason; got != tt.wantReason {
				t.Errorf("reason = %s, want %s (%v)", got, tt.wantReason, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", err.Error(), tt.wantMsg)
			}
			if tt.wantField != "" {
				causes := status.Status().Details.Causes
				if len(causes) != 1 || causes[0].Field != tt.wantField || causes[0].Type != metav1.CauseTypeFieldValueInvalid {
					t.Errorf("causes = %+v, want one %s on %s", causes, metav1.CauseTypeFieldValueInvalid, tt.wantField)
				}
			}
		})
	}
}

func TestREST(t *testing.T) {
	cfg := newFixture(t).config(t)
	r, err := NewREST(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.New().(*authenticationv1.TokenRequest); !ok {
		t.Errorf("New() = %T", r.New())
	}
	want := schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}
	if got := r.GroupVersionKind(corev1.SchemeGroupVersion); got != want {
		t.Errorf("GroupVersionKind = %v, want %v", got, want)
	}
	if !r.PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() {
		t.Error("request metadata.uid must be preserved")
	}

	for name, mutate := range map[string]func(*Config){
		"serviceaccounts/token storage: no service account getter": func(c *Config) { c.ServiceAccounts = nil },
		"serviceaccounts/token storage: no token generator":        func(c *Config) { c.Generator = nil },
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg
			mutate(&c)
			if _, err := NewREST(c); err == nil || err.Error() != name {
				t.Errorf("error = %v, want %q", err, name)
			}
		})
	}
}
