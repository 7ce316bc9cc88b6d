package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Generator signs service account tokens for one issuer with one key.
type Generator struct {
	issuer string
	method jwt.SigningMethod
	key    crypto.Signer
	keyID  string
}

// NewGenerator returns a Generator that signs with key as issuer: RS256 for
// an *rsa.PrivateKey, ES256, ES384 or ES512 for an *ecdsa.PrivateKey on
// P-256, P-384 or P-521.
func NewGenerator(issuer string, key crypto.Signer) (*Generator, error) {
	var method jwt.SigningMethod
	switch k := key.(type) {
	case *rsa.PrivateKey:
		method = jwt.SigningMethodRS256
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			method = jwt.SigningMethodES256
		case elliptic.P384():
			method = jwt.SigningMethodES384
		case elliptic.P521():
			method = jwt.SigningMethodES512
		default:
			return nil, fmt.Errorf("could not generate signer for ECDSA keypair: unknown private key curve, must be 256, 384, or 521")
		}
	default:
		return nil, fmt.Errorf("unknown private key type %T, must be *rsa.PrivateKey or *ecdsa.PrivateKey", key)
	}
	kid, err := keyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("failed to derive keyID: %w", err)
	}
	return &Generator{issuer: issuer, method: method, key: key, keyID: kid}, nil
}

// GenerateToken signs claims as a compact JWS with "alg" and "kid" headers.
// The generator's issuer replaces claims' Issuer; claims are not modified.
func (g *Generator) GenerateToken(claims *TokenClaims) (string, error) {
	payload := *claims
	payload.Issuer = g.issuer
	token := jwt.NewWithClaims(g.method, &payload)
	delete(token.Header, "typ")
	token.Header["kid"] = g.keyID
	signed, err := token.SignedString(g.key)
	if err != nil {
		return "", fmt.Errorf("signing service account token: %w", err)
	}
	return signed, nil
}
