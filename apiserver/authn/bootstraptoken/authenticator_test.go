package bootstraptoken

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func tokenSecret(mutate func(*corev1.Secret)) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-abcdef", Namespace: metav1.NamespaceSystem},
		Type:       "bootstrap.kubernetes.io/token",
		Data: map[string][]byte{
			"token-id":                       []byte("abcdef"),
			"token-secret":                   []byte("0123456789abcdef"),
			"expiration":                     []byte(now.Add(time.Hour).Format(time.RFC3339)),
			"usage-bootstrap-authentication": []byte("true"),
			"usage-bootstrap-signing":        []byte("true"),
			"auth-extra-groups":              []byte("system:bootstrappers:kubeadm:default-node-token"),
		},
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

func TestAuthenticateToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		secret     *corev1.Secret
		token      string
		wantOK     bool
		wantGroups []string
	}{
		{
			name:       "valid",
			secret:     tokenSecret(nil),
			token:      "abcdef.0123456789abcdef",
			wantOK:     true,
			wantGroups: []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"},
		},
		{
			name:       "no expiration, no extra groups",
			secret:     tokenSecret(func(s *corev1.Secret) { delete(s.Data, "expiration"); delete(s.Data, "auth-extra-groups") }),
			token:      "abcdef.0123456789abcdef",
			wantOK:     true,
			wantGroups: []string{"system:bootstrappers"},
		},
		{name: "wrong secret", secret: tokenSecret(nil), token: "abcdef.0123456789abcdee"},
		{name: "no such token", secret: tokenSecret(nil), token: "zzzzzz.0123456789abcdef"},
		{name: "expired", secret: tokenSecret(func(s *corev1.Secret) { s.Data["expiration"] = []byte(now.Add(-time.Second).Format(time.RFC3339)) }), token: "abcdef.0123456789abcdef"},
		{name: "expires now", secret: tokenSecret(func(s *corev1.Secret) { s.Data["expiration"] = []byte(now.Format(time.RFC3339)) }), token: "abcdef.0123456789abcdef"},
		{name: "unparseable expiration", secret: tokenSecret(func(s *corev1.Secret) { s.Data["expiration"] = []byte("tomorrow") }), token: "abcdef.0123456789abcdef"},
		{name: "missing authentication usage", secret: tokenSecret(func(s *corev1.Secret) { delete(s.Data, "usage-bootstrap-authentication") }), token: "abcdef.0123456789abcdef"},
		{name: "authentication usage false", secret: tokenSecret(func(s *corev1.Secret) { s.Data["usage-bootstrap-authentication"] = []byte("false") }), token: "abcdef.0123456789abcdef"},
		{name: "wrong type", secret: tokenSecret(func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }), token: "abcdef.0123456789abcdef"},
		{name: "token-id differs from name", secret: tokenSecret(func(s *corev1.Secret) { s.Data["token-id"] = []byte("abcdeg") }), token: "abcdef.0123456789abcdef"},
		{name: "being deleted", secret: tokenSecret(func(s *corev1.Secret) { s.DeletionTimestamp = &metav1.Time{Time: now} }), token: "abcdef.0123456789abcdef"},
		{name: "bad extra group", secret: tokenSecret(func(s *corev1.Secret) { s.Data["auth-extra-groups"] = []byte("system:masters") }), token: "abcdef.0123456789abcdef"},
		{name: "other namespace", secret: tokenSecret(func(s *corev1.Secret) { s.Namespace = "default" }), token: "abcdef.0123456789abcdef"},
		{name: "upper case token", secret: tokenSecret(nil), token: "ABCDEF.0123456789ABCDEF"},
		{name: "short id", secret: tokenSecret(nil), token: "abcde.0123456789abcdef"},
		{name: "no dot", secret: tokenSecret(nil), token: "abcdef0123456789abcdef"},
		{name: "trailing junk", secret: tokenSecret(nil), token: "abcdef.0123456789abcdefx"},
		{name: "a JWT", secret: tokenSecret(nil), token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
			if err := indexer.Add(tt.secret); err != nil {
				t.Fatal(err)
			}
			a := New(corev1listers.NewSecretLister(indexer).Secrets(metav1.NamespaceSystem), func() time.Time { return now })
			resp, ok, err := a.AuthenticateToken(context.Background(), tt.token)
			if err != nil {
				t.Fatalf("AuthenticateToken: %v", err)
			}
			if ok != tt.wantOK {
				t.Fatalf("authenticated = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				if resp != nil {
					t.Errorf("response %v for a rejected token", resp)
				}
				return
			}
			if got := resp.User.GetName(); got != "system:bootstrap:abcdef" {
				t.Errorf("user = %q, want system:bootstrap:abcdef", got)
			}
			if got := resp.User.GetGroups(); !slices.Equal(got, tt.wantGroups) {
				t.Errorf("groups = %v, want %v", got, tt.wantGroups)
			}
		})
	}
}
