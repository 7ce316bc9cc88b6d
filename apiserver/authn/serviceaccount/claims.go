package serviceaccount

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
)

const (
	// LegacyIssuer is the "iss" of Secret-based (legacy) service account
	// tokens.
	LegacyIssuer = "kubernetes/serviceaccount"

	// WarnOnlyBoundTokenExpirationSeconds is the expiration kubelets request
	// for projected tokens; with --service-account-extend-token-expiration
	// such pod-bound tokens are issued for longer and only produce audit
	// warnings past this age.
	WarnOnlyBoundTokenExpirationSeconds = 60*60 + 7

	// ExpirationExtensionSeconds is the default lifetime of extended tokens
	// (--service-account-extend-token-expiration), one year.
	ExpirationExtensionSeconds = 24 * 365 * 60 * 60
)

// TokenClaims is the JWT payload of a service account token. Bound tokens
// carry the registered claims and Kubernetes; legacy tokens carry Subject,
// Issuer and the flat Legacy claims.
type TokenClaims struct {
	jwt.RegisteredClaims
	// Kubernetes is the private "kubernetes.io" claim of bound tokens.
	Kubernetes *KubernetesClaims `json:"kubernetes.io,omitempty"`
	*LegacyClaims
}

// KubernetesClaims names the service account a bound token identifies and
// the object, if any, it is bound to.
type KubernetesClaims struct {
	Namespace      string     `json:"namespace,omitempty"`
	ServiceAccount ObjectRef  `json:"serviceaccount,omitempty"`
	Pod            *ObjectRef `json:"pod,omitempty"`
	Secret         *ObjectRef `json:"secret,omitempty"`
	// Node is the node a token is bound to, or the node its bound pod was
	// scheduled to.
	Node *ObjectRef `json:"node,omitempty"`
	// WarnAfter is when an extended token starts being reported as stale.
	WarnAfter *jwt.NumericDate `json:"warnafter,omitempty"`
}

// ObjectRef is the name and UID of an object a token refers to.
type ObjectRef struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// LegacyClaims are the private claims of Secret-based tokens.
type LegacyClaims struct {
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name"`
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace"`
}

// Claims builds the claims of a bound token for sa, valid from now for
// expirationSeconds and for the given audiences, with a random "jti". At most
// one of pod and secret may be set; node alone binds the token to a node,
// with pod it records the node the pod runs on. A non-zero warnAfter records
// when an extended token becomes stale.
func Claims(sa *corev1.ServiceAccount, pod *corev1.Pod, secret *corev1.Secret, node *corev1.Node, expirationSeconds, warnAfter int64, audiences []string) (*TokenClaims, error) {
	if secret != nil && (pod != nil || node != nil) {
		return nil, errors.New("internal error, token can only be bound to one object type")
	}
	issued := time.Now()
	claims := &TokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name),
			Audience:  jwt.ClaimStrings(audiences),
			IssuedAt:  jwt.NewNumericDate(issued),
			NotBefore: jwt.NewNumericDate(issued),
			ExpiresAt: jwt.NewNumericDate(issued.Add(time.Duration(expirationSeconds) * time.Second)),
			ID:        string(uuid.NewUUID()),
		},
		Kubernetes: &KubernetesClaims{
			Namespace:      sa.Namespace,
			ServiceAccount: ObjectRef{Name: sa.Name, UID: string(sa.UID)},
		},
	}
	switch {
	case pod != nil:
		claims.Kubernetes.Pod = &ObjectRef{Name: pod.Name, UID: string(pod.UID)}
		if node != nil {
			claims.Kubernetes.Node = &ObjectRef{Name: node.Name, UID: string(node.UID)}
		}
	case secret != nil:
		claims.Kubernetes.Secret = &ObjectRef{Name: secret.Name, UID: string(secret.UID)}
	case node != nil:
		claims.Kubernetes.Node = &ObjectRef{Name: node.Name, UID: string(node.UID)}
	}
	if warnAfter != 0 {
		claims.Kubernetes.WarnAfter = jwt.NewNumericDate(issued.Add(time.Duration(warnAfter) * time.Second))
	}
	return claims, nil
}

// NewLegacyClaims builds the claims of the non-expiring token stored in
// secret, a Secret of type kubernetes.io/service-account-token for sa. Sign
// them with a Generator whose issuer is LegacyIssuer.
func NewLegacyClaims(sa *corev1.ServiceAccount, secret *corev1.Secret) *TokenClaims {
	return &TokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name),
		},
		LegacyClaims: &LegacyClaims{
			Namespace:          sa.Namespace,
			ServiceAccountName: sa.Name,
			ServiceAccountUID:  string(sa.UID),
			SecretName:         secret.Name,
		},
	}
}
