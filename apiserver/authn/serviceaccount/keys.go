package serviceaccount

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"k8s.io/client-go/util/keyutil"
)

// LoadSigningKey reads the PEM private key kube-apiserver takes as
// --service-account-signing-key-file: an RSA (PKCS#1 or PKCS#8) or ECDSA
// (SEC 1 or PKCS#8) private key. Other PEM blocks in the file are skipped.
func LoadSigningKey(path string) (crypto.Signer, error) {
	key, err := keyutil.PrivateKeyFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading service account signing key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("loading service account signing key %s: %T cannot sign", path, key)
	}
	return signer, nil
}

// LoadVerifyKeys reads the files kube-apiserver takes as
// --service-account-key-file and returns every public key in them, in order.
// Each file may hold several PEM blocks: RSA or ECDSA public keys, RSA
// private keys (PKCS#1 or PKCS#8), SEC 1 ECDSA private keys and X.509
// certificates (whose subject public key is used). A file without any key
// is an error.
func LoadVerifyKeys(paths []string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, path := range paths {
		found, err := keyutil.PublicKeysFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("loading service account verification keys: %w", err)
		}
		for _, key := range found {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// keyID derives the "kid" header kube-apiserver puts in the tokens it signs:
// the unpadded base64url SHA-256 of the key's DER (PKIX) encoding. The
// derivation is one-way, so the ID never reveals the key.
func keyID(publicKey crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(publicKey)
	if err != nil {
		return "", fmt.Errorf("failed to serialize public key to DER format: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
