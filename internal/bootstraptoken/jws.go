package bootstraptoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// jwsHeader is the protected header of a cluster-info signature. Its fields
// are in the order encoding/json writes them, alphabetical, which is what
// kubeadm's go-jose produces: {"alg":"HS256","kid":"<token id>"}.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// ComputeDetachedSignature returns the detached compact JWS (header..signature)
// of content, HS256-signed with tokenSecret and naming tokenID as its key:
// the value of cluster-info's jws-kubeconfig-<tokenID> key, byte-identical to
// k8s.io/cluster-bootstrap/token/jws.ComputeDetachedSignature.
func ComputeDetachedSignature(content, tokenID, tokenSecret string) (string, error) {
	header, err := json.Marshal(jwsHeader{Alg: "HS256", Kid: tokenID})
	if err != nil {
		return "", fmt.Errorf("encode JWS header: %w", err)
	}
	enc := base64.RawURLEncoding
	protected := enc.EncodeToString(header)
	mac := hmac.New(sha256.New, []byte(tokenSecret))
	mac.Write([]byte(protected + "." + enc.EncodeToString([]byte(content))))
	return protected + ".." + enc.EncodeToString(mac.Sum(nil)), nil
}

// DetachedSignatureIsValid reports whether signature is content's detached
// JWS for the token tokenID.tokenSecret, comparing in constant time.
func DetachedSignatureIsValid(signature, content, tokenID, tokenSecret string) bool {
	want, err := ComputeDetachedSignature(content, tokenID, tokenSecret)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(signature), []byte(want)) == 1
}
