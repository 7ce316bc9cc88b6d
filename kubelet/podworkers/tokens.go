package podworkers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Token refresh rule of upstream's token manager.
const (
	maxTokenTTL    = 24 * time.Hour   // refresh tokens older than this
	maxTokenJitter = 10 * time.Second // spread refreshes a little
)

// TokenCache keeps the service account tokens requested for pods and hands
// them out again until they need a refresh: when older than 24h or within
// 20% of their lifetime of expiring (upstream's rule, minus up to 10s of
// jitter). A failed refresh falls back on the cached token while it is
// still valid. Tokens are keyed by namespace, service account, audiences,
// lifetime and bound object UID; expired ones are dropped.
type TokenCache struct {
	clock clock.Clock

	mu     sync.Mutex
	tokens map[string]*authenticationv1.TokenRequest
}

// NewTokenCache returns an empty cache on clk (nil: the real clock).
func NewTokenCache(clk clock.Clock) *TokenCache {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &TokenCache{clock: clk, tokens: map[string]*authenticationv1.TokenRequest{}}
}

// defaultTokens is the cache of APIObjects values that name none.
var defaultTokens = NewTokenCache(nil)

// Get returns a fresh token for req, calling create when the cache has
// none.
func (c *TokenCache) Get(ctx context.Context, namespace, serviceAccount string, req *authenticationv1.TokenRequest,
	create func(context.Context) (*authenticationv1.TokenRequest, error)) (*authenticationv1.TokenRequest, error) {
	key := tokenKey(namespace, serviceAccount, req)
	c.mu.Lock()
	c.dropExpiredLocked()
	cached := c.tokens[key]
	c.mu.Unlock()
	if cached != nil && !c.requiresRefresh(cached) {
		return cached, nil
	}
	tr, err := create(ctx)
	if err != nil {
		if cached != nil && c.clock.Now().Before(cached.Status.ExpirationTimestamp.Time) {
			klog.FromContext(ctx).Error(err, "Token refresh failed, using the cached token", "namespace", namespace, "serviceAccount", serviceAccount)
			return cached, nil
		}
		return nil, err
	}
	c.mu.Lock()
	c.tokens[key] = tr
	c.mu.Unlock()
	return tr, nil
}

// Forget drops the tokens bound to the object with uid (a removed pod).
func (c *TokenCache) Forget(uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tokens {
		if strings.HasSuffix(k, "/"+uid) {
			delete(c.tokens, k)
		}
	}
}

func (c *TokenCache) dropExpiredLocked() {
	now := c.clock.Now()
	for k, tr := range c.tokens {
		if !now.Before(tr.Status.ExpirationTimestamp.Time) {
			delete(c.tokens, k)
		}
	}
}

// requiresRefresh applies upstream's rule: older than 24h, or past 80% of
// the lifetime the server granted.
func (c *TokenCache) requiresRefresh(tr *authenticationv1.TokenRequest) bool {
	if tr.Spec.ExpirationSeconds == nil {
		return false
	}
	now := c.clock.Now()
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	exp := tr.Status.ExpirationTimestamp.Time
	iat := exp.Add(-ttl)
	jitter := time.Duration(rand.Float64() * float64(maxTokenJitter))
	if now.After(iat.Add(maxTokenTTL - jitter)) {
		return true
	}
	return now.After(exp.Add(-ttl/5 - jitter))
}

func tokenKey(namespace, serviceAccount string, req *authenticationv1.TokenRequest) string {
	var exp int64
	if req.Spec.ExpirationSeconds != nil {
		exp = *req.Spec.ExpirationSeconds
	}
	var uid string
	if ref := req.Spec.BoundObjectRef; ref != nil {
		uid = string(ref.UID)
	}
	return fmt.Sprintf("%q/%q/%q/%d/%s", namespace, serviceAccount, req.Spec.Audiences, exp, uid)
}
