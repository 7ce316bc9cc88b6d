package server

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"

	"github.com/skiff-dev/skiff/apiserver/certs"
)

// loopbackValidity is how long the loopback serving certificate lasts; a
// restart makes a new one.
const loopbackValidity = 3 * 365 * 24 * time.Hour

// applyServing configures TLS serving and the server's privileged loopback
// client, as k8s.io/apiserver's SecureServingOptionsWithLoopback does, but
// with an ECDSA loopback certificate.
func (o *Options) applyServing(c *genericapiserver.Config) error {
	if err := o.SecureServing.ApplyTo(&c.SecureServing); err != nil {
		return fmt.Errorf("apply secure serving options: %w", err)
	}
	certPEM, keyPEM, err := certs.SelfSigned(genericapiserver.LoopbackClientServerNameOverride, loopbackValidity)
	if err != nil {
		return fmt.Errorf("create loopback certificate: %w", err)
	}
	provider, err := dynamiccertificates.NewStaticSNICertKeyContent("self-signed loopback", certPEM, keyPEM, genericapiserver.LoopbackClientServerNameOverride)
	if err != nil {
		return fmt.Errorf("load loopback certificate: %w", err)
	}
	// First, so that it wins over any other certificate for the same name.
	c.SecureServing.SNICerts = append([]dynamiccertificates.SNICertKeyContentProvider{provider}, c.SecureServing.SNICerts...)
	loopback, err := c.SecureServing.NewLoopbackClientConfig(uuid.New().String(), certPEM)
	if err != nil {
		return fmt.Errorf("create loopback client config: %w", err)
	}
	c.LoopbackClientConfig = loopback
	return nil
}
