package certificate

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	certutil "k8s.io/client-go/util/cert"
)

// caHashPrefix is the only hash format of a CA pin, as kubeadm's
// --discovery-token-ca-cert-hash takes it.
const caHashPrefix = "sha256:"

// CACertHash is the pin of a CA certificate: "sha256:" and the hex SHA-256
// of its DER SubjectPublicKeyInfo, as kubeadm prints it.
func CACertHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return caHashPrefix + hex.EncodeToString(sum[:])
}

// ValidateCAHashes checks that every pin is "sha256:<64 hex digits>".
func ValidateCAHashes(pins []string) error {
	for _, p := range pins {
		h, ok := strings.CutPrefix(strings.ToLower(p), caHashPrefix)
		if !ok {
			return fmt.Errorf("invalid CA cert hash %q: want the form sha256:<hex>", p)
		}
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("invalid CA cert hash %q: want 64 hex digits after sha256:", p)
		}
	}
	return nil
}

// CheckCAPins checks that a certificate of the CA bundle caPEM has the
// public key one of pins names; the error says which hashes the bundle has
// instead.
func CheckCAPins(caPEM []byte, pins []string) error {
	if err := ValidateCAHashes(pins); err != nil {
		return err
	}
	if len(pins) == 0 {
		return errors.New("no CA cert hash to check the cluster CA against")
	}
	certs, err := certutil.ParseCertsPEM(caPEM)
	if err != nil {
		return fmt.Errorf("the discovered cluster CA does not parse: %w", err)
	}
	var have []string
	for _, c := range certs {
		h := CACertHash(c)
		for _, p := range pins {
			if strings.EqualFold(p, h) {
				return nil
			}
		}
		have = append(have, h)
	}
	return fmt.Errorf("the cluster CA's public key hash %s matches no --discovery-token-ca-cert-hash (%s)", strings.Join(have, ", "), strings.Join(pins, ", "))
}
