package serviceaccount

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

const (
	testIssuer = "https://kubernetes.default.svc"
	testNS     = "team-a"
)

// world holds the objects the getter serves; nil objects are absent.
type world struct {
	sa           *corev1.ServiceAccount
	pod          *corev1.Pod
	node         *corev1.Node
	secret       *corev1.Secret
	legacySecret *corev1.Secret
	// noPods and noNodes build the getter without a pod or node lister.
	noPods, noNodes bool
}

func newWorld() *world {
	return &world{
		sa: &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "builder", UID: "sa-uid"},
			Secrets:    []corev1.ObjectReference{{Name: "builder-token"}},
		},
		pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "web-0", UID: "pod-uid"},
			Spec:       corev1.PodSpec{ServiceAccountName: "builder", NodeName: "node-1"},
		},
		node:   &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "node-uid"}},
		secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "bound", UID: "secret-uid"}},
		legacySecret: &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "builder-token", UID: "legacy-uid"},
			Type:       corev1.SecretTypeServiceAccountToken,
		},
	}
}

// getter serves w's objects through client-go listers over indexers.
func (w *world) getter(t *testing.T) ObjectGetter {
	t.Helper()
	indexer := func(objs ...any) cache.Indexer {
		idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		for _, obj := range objs {
			if reflect.ValueOf(obj).IsNil() {
				continue
			}
			if err := idx.Add(obj); err != nil {
				t.Fatal(err)
			}
		}
		return idx
	}
	var pods corev1listers.PodLister
	if !w.noPods {
		pods = corev1listers.NewPodLister(indexer(w.pod))
	}
	var nodes corev1listers.NodeLister
	if !w.noNodes {
		nodes = corev1listers.NewNodeLister(indexer(w.node))
	}
	return NewListerGetter(
		corev1listers.NewServiceAccountLister(indexer(w.sa)),
		corev1listers.NewSecretLister(indexer(w.secret, w.legacySecret)),
		pods, nodes)
}

func mustGenerator(t *testing.T, issuer string, key crypto.Signer) *Generator {
	t.Helper()
	g, err := NewGenerator(issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustToken(t *testing.T, g *Generator, claims *TokenClaims) string {
	t.Helper()
	token, err := g.GenerateToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func mustClaims(t *testing.T, w *world, pod *corev1.Pod, secret *corev1.Secret, node *corev1.Node, audiences ...string) *TokenClaims {
	t.Helper()
	claims, err := Claims(w.sa, pod, secret, node, 3600, 0, audiences)
	if err != nil {
		t.Fatal(err)
	}
	return claims
}

func saUser(extra map[string][]string) *user.DefaultInfo {
	return &user.DefaultInfo{
		Name:   "system:serviceaccount:team-a:builder",
		UID:    "sa-uid",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:team-a"},
		Extra:  extra,
	}
}

func TestAuthenticator(t *testing.T) {
	rsaKey := testRSAKey(t)
	ecKey := testECKey(t, elliptic.P256())
	otherKey := testECKey(t, elliptic.P256())
	rsaGen := mustGenerator(t, testIssuer, rsaKey)
	ecGen := mustGenerator(t, testIssuer, ecKey)
	legacyGen := mustGenerator(t, LegacyIssuer, rsaKey)
	past := metav1.NewTime(time.Now().Add(-2 * time.Minute))
	recent := metav1.NewTime(time.Now().Add(-10 * time.Second))

	// jti is the credential-id extra of a token.
	jti := func(t *testing.T, token string) []string {
		return []string{"JTI=" + decodeSegment(t, token, 1)["jti"].(string)}
	}
	// legacyToken stores a legacy token in w's token Secret and returns it.
	legacyToken := func(t *testing.T, w *world) string {
		token := mustToken(t, legacyGen, NewLegacyClaims(w.sa, w.legacySecret))
		w.legacySecret.Data = map[string][]byte{corev1.ServiceAccountTokenKey: []byte(token)}
		return token
	}

	tests := []struct {
		name         string
		token        func(t *testing.T, w *world) string
		mutate       func(w *world)
		apiAudiences authenticator.Audiences
		reqAudiences authenticator.Audiences
		// wantUser is nil when the token is not authenticated; wantExtra
		// computes the expected extra from the token.
		wantUser  func(t *testing.T, token string) *user.DefaultInfo
		wantAuds  authenticator.Audiences
		wantErr   string
		wantQuiet bool
	}{
		{
			name: "unbound RSA token",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "api"))
			},
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{user.CredentialIDKey: jti(t, token)})
			},
			wantAuds: authenticator.Audiences{"api"},
		},
		{
			name: "pod-bound ECDSA token records the pod and its node, whose existence is not checked",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, ecGen, mustClaims(t, w, w.pod, nil, w.node, "api"))
			},
			mutate: func(w *world) { w.node = nil },
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{
					user.CredentialIDKey:                     jti(t, token),
					"authentication.kubernetes.io/pod-name":  {"web-0"},
					"authentication.kubernetes.io/pod-uid":   {"pod-uid"},
					"authentication.kubernetes.io/node-name": {"node-1"},
					"authentication.kubernetes.io/node-uid":  {"node-uid"},
				})
			},
			wantAuds: authenticator.Audiences{"api"},
		},
		{
			name: "secret-bound token",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, w.secret, nil, "api"))
			},
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{user.CredentialIDKey: jti(t, token)})
			},
			wantAuds: authenticator.Audiences{"api"},
		},
		{
			name: "node-bound token",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, w.node, "api"))
			},
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{
					user.CredentialIDKey:                     jti(t, token),
					"authentication.kubernetes.io/node-name": {"node-1"},
					"authentication.kubernetes.io/node-uid":  {"node-uid"},
				})
			},
			wantAuds: authenticator.Audiences{"api"},
		},
		{
			name: "audience requested by the request",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "vault", "api"))
			},
			reqAudiences: authenticator.Audiences{"vault"},
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{user.CredentialIDKey: jti(t, token)})
			},
			wantAuds: authenticator.Audiences{"vault"},
		},
		{
			name: "wrong audience",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "vault"))
			},
			wantErr: `token audiences ["vault"] is invalid for the target audiences ["api"]`,
		},
		{
			name: "without API audiences any audience is accepted",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "vault"))
			},
			apiAudiences: authenticator.Audiences{},
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{user.CredentialIDKey: jti(t, token)})
			},
			wantAuds: authenticator.Audiences{},
		},
		{
			name: "expired",
			token: func(t *testing.T, w *world) string {
				claims := mustClaims(t, w, nil, nil, nil, "api")
				claims.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
				claims.NotBefore = claims.IssuedAt
				claims.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Minute))
				return mustToken(t, rsaGen, claims)
			},
			wantErr: "service account token has expired",
		},
		{
			name: "expired within the leeway",
			token: func(t *testing.T, w *world) string {
				claims := mustClaims(t, w, nil, nil, nil, "api")
				claims.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-30 * time.Second))
				return mustToken(t, rsaGen, claims)
			},
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{user.CredentialIDKey: jti(t, token)})
			},
			wantAuds: authenticator.Audiences{"api"},
		},
		{
			name: "not valid yet",
			token: func(t *testing.T, w *world) string {
				claims := mustClaims(t, w, nil, nil, nil, "api")
				claims.NotBefore = jwt.NewNumericDate(time.Now().Add(2 * time.Minute))
				return mustToken(t, rsaGen, claims)
			},
			wantErr: "service account token is not valid yet",
		},
		{
			name: "issued in the future",
			token: func(t *testing.T, w *world) string {
				claims := mustClaims(t, w, nil, nil, nil, "api")
				claims.IssuedAt = jwt.NewNumericDate(time.Now().Add(2 * time.Minute))
				return mustToken(t, rsaGen, claims)
			},
			wantErr: "service account token is issued in the future",
		},
		{
			name: "service account deleted",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "api"))
			},
			mutate:  func(w *world) { w.sa = nil },
			wantErr: `serviceaccount "builder" not found`,
		},
		{
			name: "service account recreated with another UID",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "api"))
			},
			mutate:  func(w *world) { w.sa.UID = "new-uid" },
			wantErr: "service account UID (new-uid) does not match claim (sa-uid)",
		},
		{
			name: "service account being deleted",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "api"))
			},
			mutate:  func(w *world) { w.sa.DeletionTimestamp = &past },
			wantErr: "service account team-a/builder has been deleted",
		},
		{
			name: "service account deleted within the leeway",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "api"))
			},
			mutate: func(w *world) { w.sa.DeletionTimestamp = &recent },
			wantUser: func(t *testing.T, token string) *user.DefaultInfo {
				return saUser(map[string][]string{user.CredentialIDKey: jti(t, token)})
			},
			wantAuds: authenticator.Audiences{"api"},
		},
		{
			name: "bound pod gone",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, w.pod, nil, nil, "api"))
			},
			mutate:  func(w *world) { w.pod = nil },
			wantErr: "service account token has been invalidated",
		},
		{
			name: "bound pod recreated",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, w.pod, nil, nil, "api"))
			},
			mutate:  func(w *world) { w.pod.UID = "pod-uid-2" },
			wantErr: "pod UID (pod-uid-2) does not match service account pod ref claim (pod-uid)",
		},
		{
			name: "bound pod being deleted",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, w.pod, nil, nil, "api"))
			},
			mutate:  func(w *world) { w.pod.DeletionTimestamp = &past },
			wantErr: "service account token has been invalidated",
		},
		{
			name: "pod-bound token without a pod lister",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, w.pod, nil, nil, "api"))
			},
			mutate:  func(w *world) { w.noPods = true },
			wantErr: "service account token has been invalidated",
		},
		{
			name: "bound secret gone",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, w.secret, nil, "api"))
			},
			mutate:  func(w *world) { w.secret = nil },
			wantErr: "service account token has been invalidated",
		},
		{
			name: "bound secret recreated",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, w.secret, nil, "api"))
			},
			mutate:  func(w *world) { w.secret.UID = "secret-uid-2" },
			wantErr: "secret UID (secret-uid-2) does not match service account secret ref claim (secret-uid)",
		},
		{
			name: "bound node gone",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, w.node, "api"))
			},
			mutate:  func(w *world) { w.node = nil },
			wantErr: "service account token has been invalidated",
		},
		{
			name: "bound node recreated",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, w.node, "api"))
			},
			mutate:  func(w *world) { w.node.UID = "node-uid-2" },
			wantErr: "node UID (node-uid-2) does not match service account node ref claim (node-uid)",
		},
		{
			name: "node-bound token without a node lister",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, rsaGen, mustClaims(t, w, nil, nil, w.node, "api"))
			},
			mutate:  func(w *world) { w.noNodes = true },
			wantErr: "service account token has been invalidated",
		},
		{
			name: "tampered signature",
			token: func(t *testing.T, w *world) string {
				token := mustToken(t, rsaGen, mustClaims(t, w, nil, nil, nil, "api"))
				parts := strings.Split(token, ".")
				sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
				sig[0] ^= 0xff
				return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
			},
			wantErr: "verification error",
		},
		{
			name: "tampered payload",
			token: func(t *testing.T, w *world) string {
				token := mustToken(t, ecGen, mustClaims(t, w, nil, nil, nil, "api"))
				other := mustToken(t, ecGen, mustClaims(t, w, w.pod, nil, nil, "api"))
				return strings.Split(other, ".")[0] + "." + strings.Split(other, ".")[1] + "." + strings.Split(token, ".")[2]
			},
			wantErr: "verification error",
		},
		{
			name: "signed by an unknown key",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, mustGenerator(t, testIssuer, otherKey), mustClaims(t, w, nil, nil, nil, "api"))
			},
			wantErr: "invalid signature, no keys found",
		},
		{
			name: "another issuer is not ours",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, mustGenerator(t, "https://elsewhere", rsaKey), mustClaims(t, w, nil, nil, nil, "api"))
			},
			wantQuiet: true,
		},
		{
			name:      "not a JWT",
			token:     func(*testing.T, *world) string { return "abcdef0123456789" },
			wantQuiet: true,
		},
		{
			name: "JWS JSON serialization is not ours",
			token: func(*testing.T, *world) string {
				return `{"payload":"` + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+testIssuer+`"}`)) + `"}`
			},
			wantQuiet: true,
		},
		{
			name:  "legacy token",
			token: legacyToken,
			wantUser: func(*testing.T, string) *user.DefaultInfo {
				return saUser(nil)
			},
			wantAuds: authenticator.Audiences{"api"},
		},
		{
			name:         "legacy token for another audience",
			token:        legacyToken,
			reqAudiences: authenticator.Audiences{"vault"},
			wantErr:      `token audiences ["api"] is invalid for the target audiences ["vault"]`,
		},
		{
			name: "legacy token no longer in its secret",
			token: func(t *testing.T, w *world) string {
				token := legacyToken(t, w)
				w.legacySecret.Data[corev1.ServiceAccountTokenKey] = []byte("rotated")
				return token
			},
			wantErr: "Token does not match server's copy",
		},
		{
			name:    "legacy token secret deleted",
			token:   legacyToken,
			mutate:  func(w *world) { w.legacySecret = nil },
			wantErr: "Token has been invalidated",
		},
		{
			name:    "legacy token secret being deleted",
			token:   legacyToken,
			mutate:  func(w *world) { w.legacySecret.DeletionTimestamp = &recent },
			wantErr: "Token has been invalidated",
		},
		{
			name:    "legacy token service account recreated",
			token:   legacyToken,
			mutate:  func(w *world) { w.sa.UID = "new-uid" },
			wantErr: "ServiceAccount UID (new-uid) does not match claim (sa-uid)",
		},
		{
			name:    "legacy token service account being deleted",
			token:   legacyToken,
			mutate:  func(w *world) { w.sa.DeletionTimestamp = &recent },
			wantErr: "ServiceAccount team-a/builder has been deleted",
		},
		{
			name:    "legacy token marked invalid",
			token:   legacyToken,
			mutate:  func(w *world) { w.legacySecret.Labels = map[string]string{invalidSinceLabel: "2026-01-01"} },
			wantErr: "the token in secret team-a/builder-token for service account team-a/builder has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the 'kubernetes.io/legacy-token-invalid-since' label from the secret to temporarily allow use of this token",
		},
		{
			name: "legacy issuer without legacy claims",
			token: func(t *testing.T, w *world) string {
				return mustToken(t, legacyGen, mustClaims(t, w, nil, nil, nil))
			},
			wantErr: "namespace claim is missing",
		},
		{
			name: "legacy token with a mismatched subject",
			token: func(t *testing.T, w *world) string {
				claims := NewLegacyClaims(w.sa, w.legacySecret)
				claims.Subject = "system:serviceaccount:team-a:other"
				return mustToken(t, legacyGen, claims)
			},
			wantErr: "sub claim is invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			token := tt.token(t, w)
			if tt.mutate != nil {
				tt.mutate(w)
			}
			apiAudiences := authenticator.Audiences{"api"}
			if tt.apiAudiences != nil {
				apiAudiences = tt.apiAudiences
			}
			a, err := NewAuthenticator(Config{
				Issuers:      []string{"https://other-issuer", testIssuer},
				Keys:         []crypto.PublicKey{&rsaKey.PublicKey, ecKey},
				APIAudiences: apiAudiences,
				Getter:       w.getter(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.reqAudiences != nil {
				ctx = authenticator.WithAudiences(ctx, tt.reqAudiences)
			}

			resp, ok, err := a.AuthenticateToken(ctx, token)
			switch {
			case tt.wantQuiet:
				if resp != nil || ok || err != nil {
					t.Fatalf("got (%v, %v, %v), want (nil, false, nil)", resp, ok, err)
				}
			case tt.wantErr != "":
				if ok || resp != nil || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got (%v, %v, %v), want an error containing %q", resp, ok, err, tt.wantErr)
				}
			default:
				if err != nil || !ok {
					t.Fatalf("got (%v, %v, %v), want success", resp, ok, err)
				}
				if want := tt.wantUser(t, token); !reflect.DeepEqual(resp.User, want) {
					t.Errorf("user = %#v\nwant   %#v", resp.User, want)
				}
				if !reflect.DeepEqual(resp.Audiences, tt.wantAuds) {
					t.Errorf("audiences = %q, want %q", resp.Audiences, tt.wantAuds)
				}
			}
		})
	}
}

func TestClaims(t *testing.T) {
	w := newWorld()
	before := time.Now().Truncate(time.Second)
	tests := []struct {
		name      string
		pod       *corev1.Pod
		secret    *corev1.Secret
		node      *corev1.Node
		warnAfter int64
		want      *KubernetesClaims
		wantErr   string
	}{
		{
			name: "unbound",
			want: &KubernetesClaims{Namespace: testNS, ServiceAccount: ObjectRef{Name: "builder", UID: "sa-uid"}},
		},
		{
			name: "pod with node and warnafter",
			pod:  w.pod, node: w.node, warnAfter: 3607,
			want: &KubernetesClaims{
				Namespace:      testNS,
				ServiceAccount: ObjectRef{Name: "builder", UID: "sa-uid"},
				Pod:            &ObjectRef{Name: "web-0", UID: "pod-uid"},
				Node:           &ObjectRef{Name: "node-1", UID: "node-uid"},
			},
		},
		{
			name:   "secret",
			secret: w.secret,
			want: &KubernetesClaims{
				Namespace:      testNS,
				ServiceAccount: ObjectRef{Name: "builder", UID: "sa-uid"},
				Secret:         &ObjectRef{Name: "bound", UID: "secret-uid"},
			},
		},
		{name: "secret and pod", secret: w.secret, pod: w.pod, wantErr: "internal error, token can only be bound to one object type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := Claims(w.sa, tt.pod, tt.secret, tt.node, 7200, tt.warnAfter, []string{"api", "vault"})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if claims.Subject != "system:serviceaccount:team-a:builder" || !reflect.DeepEqual([]string(claims.Audience), []string{"api", "vault"}) || claims.ID == "" {
				t.Errorf("registered claims = %+v", claims.RegisteredClaims)
			}
			if claims.IssuedAt.Before(before) || !claims.NotBefore.Equal(claims.IssuedAt.Time) || !claims.ExpiresAt.Equal(claims.IssuedAt.Add(2*time.Hour)) {
				t.Errorf("times iat %v nbf %v exp %v", claims.IssuedAt, claims.NotBefore, claims.ExpiresAt)
			}
			got := *claims.Kubernetes
			if tt.warnAfter != 0 {
				if got.WarnAfter == nil || !got.WarnAfter.Equal(claims.IssuedAt.Add(3607*time.Second)) {
					t.Errorf("warnafter = %v", got.WarnAfter)
				}
				got.WarnAfter = nil
			}
			if !reflect.DeepEqual(&got, tt.want) {
				t.Errorf("kubernetes.io = %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("wire layout", func(t *testing.T) {
		claims, err := Claims(w.sa, w.pod, nil, w.node, 3600, 3607, []string{"api"})
		if err != nil {
			t.Fatal(err)
		}
		payload := decodeSegment(t, mustToken(t, mustGenerator(t, testIssuer, testRSAKey(t)), claims), 1)
		for _, key := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "kubernetes.io"} {
			if _, ok := payload[key]; !ok {
				t.Errorf("payload lacks %q: %v", key, payload)
			}
		}
		if len(payload) != 8 {
			t.Errorf("payload has extra claims: %v", payload)
		}
		k8s := payload["kubernetes.io"].(map[string]any)
		want := map[string]any{
			"namespace":      testNS,
			"serviceaccount": map[string]any{"name": "builder", "uid": "sa-uid"},
			"pod":            map[string]any{"name": "web-0", "uid": "pod-uid"},
			"node":           map[string]any{"name": "node-1", "uid": "node-uid"},
			"warnafter":      float64(claims.Kubernetes.WarnAfter.Unix()),
		}
		if !reflect.DeepEqual(k8s, want) || !reflect.DeepEqual(payload["aud"], []any{"api"}) {
			t.Errorf("kubernetes.io = %v aud = %v", k8s, payload["aud"])
		}
	})

	t.Run("legacy wire layout", func(t *testing.T) {
		payload := decodeSegment(t, mustToken(t, mustGenerator(t, LegacyIssuer, testRSAKey(t)), NewLegacyClaims(w.sa, w.legacySecret)), 1)
		want := map[string]any{
			"iss":                                    LegacyIssuer,
			"sub":                                    "system:serviceaccount:team-a:builder",
			"kubernetes.io/serviceaccount/namespace": testNS,
			"kubernetes.io/serviceaccount/secret.name":          "builder-token",
			"kubernetes.io/serviceaccount/service-account.name": "builder",
			"kubernetes.io/serviceaccount/service-account.uid":  "sa-uid",
		}
		if !reflect.DeepEqual(payload, want) {
			t.Errorf("payload = %v\nwant      %v", payload, want)
		}
	})
}

func TestNewAuthenticatorErrors(t *testing.T) {
	getter := newWorld().getter(t)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no keys", cfg: Config{Getter: getter}, wantErr: "service account token authenticator: no verification keys"},
		{name: "no getter", cfg: Config{Keys: []crypto.PublicKey{testRSAKey(t).Public()}}, wantErr: "service account token authenticator: no object getter"},
		{name: "unsupported key", cfg: Config{Keys: []crypto.PublicKey{"not a key"}, Getter: getter}, wantErr: "failed to serialize public key to DER format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewAuthenticator(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
