package bootstraptoken

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/informers"
	corev1listers "k8s.io/client-go/listers/core/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	bootstrapsecretutil "k8s.io/cluster-bootstrap/util/secrets"
	"k8s.io/klog/v2"
)

// SecretGetter gets a Secret of kube-system by name, as
// corev1listers.SecretNamespaceLister does.
type SecretGetter interface {
	Get(name string) (*corev1.Secret, error)
}

// Authenticator authenticates bootstrap tokens.
type Authenticator struct {
	secrets SecretGetter
	now     func() time.Time
}

var _ authenticator.Token = (*Authenticator)(nil)

// New returns an authenticator reading token Secrets through secrets; now
// is its clock (time.Now when nil).
func New(secrets SecretGetter, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{secrets: secrets, now: now}
}

// NewFromInformers registers the Secrets informer with factory (the API
// server's loopback SharedInformerFactory, started by the server) and
// returns an authenticator over its kube-system lister.
func NewFromInformers(factory informers.SharedInformerFactory) *Authenticator {
	var lister corev1listers.SecretLister = factory.Core().V1().Secrets().Lister()
	return New(lister.Secrets(metav1.NamespaceSystem), nil)
}

// AuthenticateToken implements authenticator.Token. A token that is not of
// the bootstrap form, or names no Secret, is not this authenticator's and
// yields (nil, false, nil) so that the next one may try it; so does one that
// fails a check, the reason logged at V(3) (never the secret).
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	id, secret, ok := parseToken(token)
	if !ok {
		return nil, false, nil
	}
	log := klog.FromContext(ctx)
	name := bootstraputil.BootstrapTokenSecretName(id)
	s, err := a.secrets.Get(name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			log.V(3).Info("No secret to match bootstrap bearer token", "secret", name)
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("get bootstrap token secret %s: %w", name, err)
	}
	reject := func(why string) (*authenticator.Response, bool, error) {
		log.V(3).Info("Rejected bootstrap token", "secret", klog.KObj(s), "reason", why)
		return nil, false, nil
	}
	if s.DeletionTimestamp != nil {
		return reject("the secret is being deleted")
	}
	if s.Type != bootstrapapi.SecretTypeBootstrapToken || s.Data == nil {
		return reject("the secret is not of type " + string(bootstrapapi.SecretTypeBootstrapToken))
	}
	stored := bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenSecretKey)
	if subtle.ConstantTimeCompare([]byte(stored), []byte(secret)) != 1 {
		return reject("the token secret does not match " + bootstrapapi.BootstrapTokenSecretKey)
	}
	if bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenIDKey) != id {
		return reject("the token id does not match " + bootstrapapi.BootstrapTokenIDKey)
	}
	if bootstrapsecretutil.HasExpired(s, a.now()) {
		return reject("the token has expired")
	}
	if bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenUsageAuthentication) != "true" {
		return reject("the token is not marked " + bootstrapapi.BootstrapTokenUsageAuthentication + "=true")
	}
	groups, err := bootstrapsecretutil.GetGroups(s)
	if err != nil {
		return reject("invalid " + bootstrapapi.BootstrapTokenExtraGroupsKey + ": " + err.Error())
	}
	return &authenticator.Response{User: &user.DefaultInfo{
		Name:   bootstrapapi.BootstrapUserPrefix + id,
		Groups: groups,
	}}, true, nil
}

// parseToken splits "<id>.<secret>", checking the bootstrap token form.
func parseToken(token string) (id, secret string, ok bool) {
	m := bootstraputil.BootstrapTokenRegexp.FindStringSubmatch(token)
	if len(m) != 3 {
		return "", "", false
	}
	return m[1], m[2], true
}
