package certificate

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/skiff-dev/skiff/internal/bootstraptoken"
)

// discoveryTimeout bounds one cluster-info request.
const discoveryTimeout = 10 * time.Second

// ErrNotSigned is in DiscoverCA's error when cluster-info has no signature
// for the token: a token just created is signed a moment later by the
// bootstrap signer, so a joining node waits for it as kubeadm does.
var ErrNotSigned = errors.New("not signed for the token (yet)")

// RetriableDiscoveryError reports whether DiscoverCA's err may pass by
// itself: no connection, the server starting (cluster-info or its RBAC not
// published yet, 5xx), or the token not signed yet. A signature that does
// not match, or a bad token, is final.
func RetriableDiscoveryError(err error) bool {
	if errors.Is(err, ErrNotSigned) {
		return true
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		var fe *FinalDiscoveryError
		return !errors.As(err, &fe)
	}
	return apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err)
}

// FinalDiscoveryError is a discovery failure that retrying cannot mend.
type FinalDiscoveryError struct{ msg string }

func (e *FinalDiscoveryError) Error() string { return e.msg }

func final(format string, args ...any) error {
	return &FinalDiscoveryError{msg: fmt.Sprintf(format, args...)}
}

// DiscoverCA fetches the kube-public cluster-info ConfigMap from serverURL
// anonymously, over TLS without verifying the server (its CA is what is
// being discovered), checks the kubeconfig it publishes against the
// detached JWS signature jws-kubeconfig-<id> of token "<id>.<secret>", and
// returns the CA bundle of that kubeconfig. Only a holder of the token
// secret (the cluster, through its bootstrap signer) can have made the
// signature, so the CA is trustworthy once it matches. It fails, saying
// why, when the ConfigMap or the signature is missing or wrong.
func DiscoverCA(ctx context.Context, serverURL, token string) ([]byte, error) {
	m := bootstraputil.BootstrapTokenRegexp.FindStringSubmatch(token)
	if len(m) != 3 {
		return nil, final("the bootstrap token is not of the form %q", bootstrapapi.BootstrapTokenPattern)
	}
	id, secret := m[1], m[2]
	client, err := kubernetes.NewForConfig(&rest.Config{
		Host:            serverURL,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		Timeout:         discoveryTimeout,
		UserAgent:       rest.DefaultKubernetesUserAgent() + " (bootstrap discovery)",
	})
	if err != nil {
		return nil, final("cluster CA discovery from %s: %v", serverURL, err)
	}
	cm, err := client.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("cluster CA discovery from %s: the %s/%s ConfigMap is missing or not readable anonymously: %w", serverURL, metav1.NamespacePublic, bootstrapapi.ConfigMapClusterInfo, err)
		}
		return nil, fmt.Errorf("cluster CA discovery from %s: get %s/%s: %w", serverURL, metav1.NamespacePublic, bootstrapapi.ConfigMapClusterInfo, err)
	}
	content, ok := cm.Data[bootstrapapi.KubeConfigKey]
	if !ok {
		return nil, final("cluster CA discovery from %s: the %s ConfigMap has no %q key", serverURL, bootstrapapi.ConfigMapClusterInfo, bootstrapapi.KubeConfigKey)
	}
	sig, ok := cm.Data[bootstrapapi.JWSSignatureKeyPrefix+id]
	if !ok {
		return nil, fmt.Errorf("cluster CA discovery from %s: the %s ConfigMap has no signature for token ID %q: the token is unknown to this cluster, has expired or is not for signing (create one with `skiff token create`): %w", serverURL, bootstrapapi.ConfigMapClusterInfo, id, ErrNotSigned)
	}
	if !bootstraptoken.DetachedSignatureIsValid(sig, content, id, secret) {
		return nil, final("cluster CA discovery from %s: the JWS signature of the %s ConfigMap does not match the token %s.<secret>: refusing to trust this API server (wrong token secret, or not the cluster you meant)", serverURL, bootstrapapi.ConfigMapClusterInfo, id)
	}
	cfg, err := clientcmd.Load([]byte(content))
	if err != nil {
		return nil, final("cluster CA discovery from %s: the signed kubeconfig does not parse: %v", serverURL, err)
	}
	for _, c := range cfg.Clusters {
		if len(c.CertificateAuthorityData) > 0 {
			return c.CertificateAuthorityData, nil
		}
	}
	return nil, final("cluster CA discovery from %s: the signed kubeconfig of %s has no certificate-authority-data", serverURL, bootstrapapi.ConfigMapClusterInfo)
}
