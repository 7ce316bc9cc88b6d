package podworkers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// APIObjects reads the ConfigMaps and Secrets pods refer to straight from
// the API server, and requests their service account tokens. Missing
// objects are NotFound errors worded as upstream's kubelet words them
// (`configmap "x" not found`).
type APIObjects struct {
	Client kubernetes.Interface
	// Tokens caches tokens between refreshes; nil means a process-wide cache.
	Tokens *TokenCache
}

var _ runtime.ObjectSource = APIObjects{}

// GetConfigMap implements runtime.ObjectSource.
func (o APIObjects) GetConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	cm, err := o.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
	}
	return cm, err
}

// GetSecret implements runtime.ObjectSource.
func (o APIObjects) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s, err := o.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
	}
	return s, err
}

// CreateToken implements runtime.ObjectSource with the serviceaccounts/token
// subresource, reusing a cached token until it needs a refresh.
func (o APIObjects) CreateToken(ctx context.Context, namespace, serviceAccount string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	cache := o.Tokens
	if cache == nil {
		cache = defaultTokens
	}
	return cache.Get(ctx, namespace, serviceAccount, req, func(ctx context.Context) (*authenticationv1.TokenRequest, error) {
		sas := o.Client.CoreV1().ServiceAccounts(namespace)
		tr, err := sas.CreateToken(ctx, serviceAccount, req.DeepCopy(), metav1.CreateOptions{})
		if err != nil && cannotBindToPods(err, req) {
			// Skiff's API server does not bind tokens to Pods yet: fall
			// back on an unbound token of the same lifetime and audiences.
			klog.FromContext(ctx).V(1).Info("API server cannot bind tokens to pods, requesting an unbound token", "serviceAccount", serviceAccount)
			unbound := req.DeepCopy()
			unbound.Spec.BoundObjectRef = nil
			tr, err = sas.CreateToken(ctx, serviceAccount, unbound, metav1.CreateOptions{})
		}
		if err != nil {
			return nil, fmt.Errorf("create token for serviceaccount %s/%s: %w", namespace, serviceAccount, err)
		}
		return tr, nil
	})
}

// cannotBindToPods tells whether err is the API server refusing a
// Pod-bound token because it does not look Pods up for tokens.
func cannotBindToPods(err error, req *authenticationv1.TokenRequest) bool {
	ref := req.Spec.BoundObjectRef
	return ref != nil && ref.Kind == "Pod" && apierrors.IsBadRequest(err) &&
		strings.Contains(err.Error(), "does not look up Pods for tokens")
}

// ForgetPod drops the cached tokens bound to a pod that is gone.
func (o APIObjects) ForgetPod(uid types.UID) {
	cache := o.Tokens
	if cache == nil {
		cache = defaultTokens
	}
	cache.Forget(string(uid))
}

// podForgetter is implemented by object sources that keep per-pod state.
type podForgetter interface{ ForgetPod(types.UID) }

func (w *Workers) forgetPodObjects(uid types.UID) {
	if f, ok := w.cfg.Objects.(podForgetter); ok {
		f.ForgetPod(uid)
	}
}

type dockerConfigEntry struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// pullCredentials returns the registry logins of the pod's
// imagePullSecrets (kubernetes.io/dockerconfigjson or dockercfg), looked up
// by registry host when a pull needs them.
func pullCredentials(ctx context.Context, objs runtime.ObjectSource, pod *corev1.Pod) runtime.Credentials {
	if len(pod.Spec.ImagePullSecrets) == 0 || objs == nil {
		return nil
	}
	return func(host string) (string, string, error) {
		for _, ref := range pod.Spec.ImagePullSecrets {
			s, err := objs.GetSecret(ctx, pod.Namespace, ref.Name)
			if err != nil {
				continue // upstream ignores unusable pull secrets
			}
			entries := map[string]dockerConfigEntry{}
			if b, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
				var cfg struct {
					Auths map[string]dockerConfigEntry `json:"auths"`
				}
				if json.Unmarshal(b, &cfg) == nil {
					entries = cfg.Auths
				}
			} else if b, ok := s.Data[corev1.DockerConfigKey]; ok {
				_ = json.Unmarshal(b, &entries)
			}
			for key, e := range entries {
				if registryHost(key) != host && !(host == "registry-1.docker.io" && registryHost(key) == "index.docker.io") {
					continue
				}
				user, pass := e.Username, e.Password
				if e.Auth != "" && user == "" {
					raw, err := base64.StdEncoding.DecodeString(e.Auth)
					if err != nil {
						return "", "", fmt.Errorf("decode auth of %s in secret %s: %w", key, ref.Name, err)
					}
					user, pass, _ = strings.Cut(string(raw), ":")
				}
				return user, pass, nil
			}
		}
		return "", "", nil
	}
}

// registryHost is the host of a docker config key ("https://host/v1/",
// "host:5000", "host/path").
func registryHost(key string) string {
	if strings.Contains(key, "://") {
		if u, err := url.Parse(key); err == nil {
			return u.Host
		}
	}
	h, _, _ := strings.Cut(key, "/")
	return h
}
