package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
)

// CA is a certificate authority whose key is on disk.
type CA struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertFile string
}

// EnsureCA loads the CA in certFile/keyFile, creating a new self-signed one
// named commonName if neither exists.
func EnsureCA(certFile, keyFile, commonName string) (*CA, error) {
	if exists(certFile) && exists(keyFile) {
		cert, key, err := load(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		return &CA{Cert: cert, Key: key, CertFile: certFile}, nil
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: commonName}, key)
	if err != nil {
		return nil, fmt.Errorf("create CA %s: %w", commonName, err)
	}
	if err := write(certFile, keyFile, cert, key); err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertFile: certFile}, nil
}

// EnsureServing makes sure certFile/keyFile hold a serving certificate signed
// by ca for every host and IP given, issuing a new one if the files are
// missing, signed by another CA, expired or missing a name.
func (ca *CA) EnsureServing(certFile, keyFile, commonName string, hosts []string, ips []net.IP) error {
	if cert, _, err := load(certFile, keyFile); err == nil && ca.signed(cert) && covers(cert, hosts, ips) {
		return nil
	}
	return ca.issue(certFile, keyFile, &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		DNSNames:    hosts,
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// EnsureClient makes sure certFile/keyFile hold a client certificate signed
// by ca for user commonName in groups organizations (the API server maps
// CN to the user name and O to groups).
func (ca *CA) EnsureClient(certFile, keyFile, commonName string, organizations []string) error {
	if cert, _, err := load(certFile, keyFile); err == nil && ca.signed(cert) &&
		cert.Subject.CommonName == commonName && slices.Equal(cert.Subject.Organization, organizations) {
		return nil
	}
	return ca.issue(certFile, keyFile, &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: organizations},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// EnsureKey makes sure keyFile holds a private key, creating an ECDSA P-256
// key if it is missing (the service-account signing key).
func EnsureKey(keyFile string) error {
	if exists(keyFile) {
		if _, err := keyutil.PrivateKeyFromFile(keyFile); err != nil {
			return fmt.Errorf("read key %s: %w", keyFile, err)
		}
		return nil
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	return writeKey(keyFile, key)
}

func (ca *CA) issue(certFile, keyFile string, tmpl *x509.Certificate) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-time.Minute)
	tmpl.NotAfter = now.Add(leafValidity)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return fmt.Errorf("sign certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parse issued certificate: %w", err)
	}
	return write(certFile, keyFile, cert, key)
}

func (ca *CA) signed(cert *x509.Certificate) bool {
	return cert.CheckSignatureFrom(ca.Cert) == nil && time.Now().Before(cert.NotAfter.Add(-24*time.Hour))
}

func covers(cert *x509.Certificate, hosts []string, ips []net.IP) bool {
	for _, h := range hosts {
		if !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ECDSA key: %w", err)
	}
	return key, nil
}

func load(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certs, err := certutil.CertsFromFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate %s: %w", certFile, err)
	}
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read key %s: %w", keyFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("key %s cannot sign", keyFile)
	}
	return certs[0], signer, nil
}

func write(certFile, keyFile string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	if err := writeKey(keyFile, key); err != nil {
		return err
	}
	pemBytes, err := certutil.EncodeCertificates(cert)
	if err != nil {
		return fmt.Errorf("encode certificate: %w", err)
	}
	return writeFile(certFile, pemBytes, 0o644)
}

func writeKey(keyFile string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	return writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFile writes data atomically: a crash leaves the old file or the new.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}

// WriteKubeconfig writes a kubeconfig with one cluster, user and context,
// embedding the CA and client credentials so that the file stands alone.
func WriteKubeconfig(path, contextName, server, caFile, certFile, keyFile string) error {
	read := func(f string) ([]byte, error) {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s for kubeconfig: %w", f, err)
		}
		return b, nil
	}
	ca, err := read(caFile)
	if err != nil {
		return err
	}
	cert, err := read(certFile)
	if err != nil {
		return err
	}
	key, err := read(keyFile)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	return writeFile(path, data, 0o600)
}

// SelfSigned returns a PEM certificate and key, self-signed with an ECDSA
// P-256 key, for host, valid for validity. The API server uses it for its
// loopback connection (ECDSA keys take microseconds to generate where the
// RSA ones upstream uses take a large part of a second).
func SelfSigned(host string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", host, now.Unix())},
		DNSNames:              []string{host},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-sign certificate for %s: %w", host, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// EnsurePublicKey writes the public half of the private key in keyFile to
// pubFile (PEM, PKIX), for verifiers that must not hold the private key.
func EnsurePublicKey(keyFile, pubFile string) error {
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return fmt.Errorf("read key %s: %w", keyFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return fmt.Errorf("key %s has no public key", keyFile)
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return fmt.Errorf("encode public key of %s: %w", keyFile, err)
	}
	return writeFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}
