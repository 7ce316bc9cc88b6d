package serviceaccount

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
)

// Config configures an Authenticator.
type Config struct {
	// Issuers are the accepted "iss" values of bound tokens
	// (--service-account-issuer). Legacy tokens (LegacyIssuer) are always
	// accepted.
	Issuers []string
	// Keys verify token signatures (--service-account-key-file). Private
	// keys may be given; their public halves are used.
	Keys []crypto.PublicKey
	// APIAudiences are the audiences of the API server (--api-audiences): a
	// request that names none is checked against them, and tokens without
	// an audience are taken to be for them.
	APIAudiences authenticator.Audiences
	// Getter looks up the objects tokens refer to.
	Getter ObjectGetter
}

// Authenticator authenticates bound and legacy service account tokens. It
// implements authenticator.Token.
type Authenticator struct {
	issuers      map[string]bool
	keys         []crypto.PublicKey
	keysByID     map[string][]crypto.PublicKey
	implicitAuds authenticator.Audiences
	getter       ObjectGetter
}

var _ authenticator.Token = &Authenticator{}

// validateFunc checks a token whose signature, issuer and audience are
// already verified and returns the service account it identifies.
type validateFunc func(ctx context.Context, tokenData string, claims *TokenClaims) (*apiserverserviceaccount.ServiceAccountInfo, error)

// algorithms are the JWS algorithms tokens may be signed with.
var algorithms = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
}

// NewAuthenticator returns an Authenticator for cfg; it needs at least one
// key and a Getter.
func NewAuthenticator(cfg Config) (*Authenticator, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("service account token authenticator: no verification keys")
	}
	if cfg.Getter == nil {
		return nil, errors.New("service account token authenticator: no object getter")
	}
	a := &Authenticator{
		issuers:      map[string]bool{},
		keysByID:     map[string][]crypto.PublicKey{},
		implicitAuds: cfg.APIAudiences,
		getter:       cfg.Getter,
	}
	for _, issuer := range cfg.Issuers {
		a.issuers[issuer] = true
	}
	for _, key := range cfg.Keys {
		if private, ok := key.(crypto.Signer); ok {
			key = private.Public()
		}
		kid, err := keyID(key)
		if err != nil {
			return nil, fmt.Errorf("service account token authenticator: %w", err)
		}
		a.keys = append(a.keys, key)
		a.keysByID[kid] = append(a.keysByID[kid], key)
	}
	return a, nil
}

// AuthenticateToken authenticates tokenData. A token that is not a compact
// JWT from an accepted issuer is not this authenticator's: it returns
// (nil, false, nil) so that other authenticators can try it. Otherwise a
// token that fails verification or validation yields an error.
func (a *Authenticator) AuthenticateToken(ctx context.Context, tokenData string) (*authenticator.Response, bool, error) {
	issuer, ok := unverifiedIssuer(tokenData)
	if !ok {
		return nil, false, nil
	}
	var validators []validateFunc
	if issuer == LegacyIssuer {
		validators = append(validators, a.validateLegacy)
	}
	if a.issuers[issuer] {
		validators = append(validators, a.validateBound)
	}
	var errs []error
	for _, validate := range validators {
		resp, ok, err := a.authenticate(ctx, tokenData, issuer, validate)
		if ok {
			return resp, true, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return nil, false, utilerrors.Reduce(utilerrors.NewAggregate(errs))
}

// authenticate verifies the signature and audience of a token from issuer
// and then runs validate on it.
func (a *Authenticator) authenticate(ctx context.Context, tokenData, issuer string, validate validateFunc) (*authenticator.Response, bool, error) {
	claims := &TokenClaims{}
	token, parts, err := jwt.NewParser().ParseUnverified(tokenData, claims)
	if err != nil {
		return nil, false, nil
	}
	if err := a.verifySignature(token, parts[0]+"."+parts[1]); err != nil {
		return nil, false, err
	}
	// The issuer was read before the signature was checked; check it again.
	if claims.Issuer != issuer {
		return nil, false, fmt.Errorf("token issuer %q is invalid", claims.Issuer)
	}

	tokenAudiences := authenticator.Audiences(claims.Audience)
	if len(tokenAudiences) == 0 {
		// Tokens without an audience (legacy tokens) are for the API server.
		audit.AddAuditAnnotation(ctx, "authentication.k8s.io/legacy-token", claims.Subject)
		tokenAudiences = a.implicitAuds
	}
	requestedAudiences, ok := authenticator.AudiencesFrom(ctx)
	if !ok {
		requestedAudiences = a.implicitAuds
	}
	audiences := tokenAudiences.Intersect(requestedAudiences)
	if len(audiences) == 0 && len(a.implicitAuds) != 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", tokenAudiences, requestedAudiences)
	}

	info, err := validate(ctx, tokenData, claims)
	if err != nil {
		return nil, false, err
	}
	return &authenticator.Response{User: info.UserInfo(), Audiences: audiences}, true, nil
}

// verifySignature checks token's signature over signingString with the keys
// matching its "kid" header, or with every key if it has none.
func (a *Authenticator) verifySignature(token *jwt.Token, signingString string) error {
	keys := a.keys
	if kid, _ := token.Header["kid"].(string); kid != "" {
		keys = a.keysByID[kid]
	}
	if len(keys) == 0 {
		return errors.New("invalid signature, no keys found")
	}
	if alg := token.Method.Alg(); !algorithms[alg] {
		return fmt.Errorf("invalid signature, unsupported algorithm %q", alg)
	}
	var errs []error
	for _, key := range keys {
		err := token.Method.Verify(signingString, token.Signature, key)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

// unverifiedIssuer returns the "iss" claim of a compact-serialized JWT
// without verifying anything, and false if tokenData is not one.
func unverifiedIssuer(tokenData string) (string, bool) {
	if strings.HasPrefix(strings.TrimSpace(tokenData), "{") {
		return "", false
	}
	parts := strings.Split(tokenData, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", false
	}
	return claims.Issuer, true
}
