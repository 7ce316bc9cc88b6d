package podworkers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// CreateToken makes secretSource (podworkers_test.go) an ObjectSource.
func (s secretSource) CreateToken(context.Context, string, string, *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	return nil, errors.New("no tokens here")
}

func tokenReq(exp int64, uid types.UID) *authenticationv1.TokenRequest {
	return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(exp),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "p", UID: uid},
	}}
}

func TestTokenCacheRefresh(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		exp      int64         // granted lifetime in seconds
		after    time.Duration // time passed before the second Get
		failNext bool          // the refresh fails
		wantNew  bool          // a new token is requested
		wantTok  string        // token the second Get returns ("" for an error)
	}{
		{name: "fresh token reused", exp: 3600, after: 30 * time.Minute, wantTok: "t1"},
		{name: "past 80% of an hour refreshed", exp: 3600, after: 49 * time.Minute, wantNew: true, wantTok: "t2"},
		{name: "older than 24h refreshed", exp: 365 * 24 * 3600, after: 24*time.Hour + time.Minute, wantNew: true, wantTok: "t2"},
		{name: "year token reused within a day", exp: 365 * 24 * 3600, after: 23 * time.Hour, wantTok: "t1"},
		{name: "failed refresh keeps valid token", exp: 3600, after: 55 * time.Minute, failNext: true, wantNew: true, wantTok: "t1"},
		{name: "failed refresh of expired token errs", exp: 3600, after: 61 * time.Minute, failNext: true, wantNew: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(start)
			c := NewTokenCache(clk)
			calls := 0
			fail := false
			create := func(context.Context) (*authenticationv1.TokenRequest, error) {
				calls++
				if fail {
					return nil, errors.New("server down")
				}
				return &authenticationv1.TokenRequest{
					Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(tc.exp)},
					Status: authenticationv1.TokenRequestStatus{Token: fmt.Sprintf("t%d", calls),
						ExpirationTimestamp: metav1.NewTime(clk.Now().Add(time.Duration(tc.exp) * time.Second))},
				}, nil
			}
			ctx := context.Background()
			if tr, err := c.Get(ctx, "ns", "default", tokenReq(tc.exp, "u1"), create); err != nil || tr.Status.Token != "t1" {
				t.Fatalf("first Get = %v, %v", tr, err)
			}
			clk.Step(tc.after)
			fail = tc.failNext
			tr, err := c.Get(ctx, "ns", "default", tokenReq(tc.exp, "u1"), create)
			if got := calls == 2; got != tc.wantNew {
				t.Errorf("requested a new token = %v, want %v", got, tc.wantNew)
			}
			switch {
			case tc.wantTok == "" && err == nil:
				t.Errorf("Get = %q, want an error", tr.Status.Token)
			case tc.wantTok != "" && (err != nil || tr.Status.Token != tc.wantTok):
				t.Errorf("Get = %v, %v; want token %q", tr, err, tc.wantTok)
			}
		})
	}
}

func TestTokenCacheKeysAndForget(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := NewTokenCache(clk)
	calls := 0
	create := func(context.Context) (*authenticationv1.TokenRequest, error) {
		calls++
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))},
			Status: authenticationv1.TokenRequestStatus{Token: "t", ExpirationTimestamp: metav1.NewTime(clk.Now().Add(time.Hour))}}, nil
	}
	ctx := context.Background()
	aud := tokenReq(3600, "u1")
	aud.Spec.Audiences = []string{"vault"}
	for _, req := range []struct {
		ns, sa string
		tr     *authenticationv1.TokenRequest
	}{
		{"ns", "default", tokenReq(3600, "u1")},
		{"ns", "default", tokenReq(3600, "u1")}, // cached
		{"ns", "default", tokenReq(3600, "u2")}, // other pod
		{"ns", "default", tokenReq(7200, "u1")}, // other lifetime
		{"ns", "other", tokenReq(3600, "u1")},   // other account
		{"ns2", "default", tokenReq(3600, "u1")},
		{"ns", "default", aud},
	} {
		if _, err := c.Get(ctx, req.ns, req.sa, req.tr, create); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 6 {
		t.Errorf("token requests = %d, want 6", calls)
	}
	c.Forget("u1")
	if _, err := c.Get(ctx, "ns", "default", tokenReq(3600, "u2"), create); err != nil || calls != 6 {
		t.Errorf("u2's token was dropped by Forget(u1): calls %d, %v", calls, err)
	}
	if _, err := c.Get(ctx, "ns", "default", tokenReq(3600, "u1"), create); err != nil || calls != 7 {
		t.Errorf("u1's token survived Forget: calls %d, %v", calls, err)
	}
}
