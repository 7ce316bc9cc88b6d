package podworkers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/kubelet/runtime"
)

// APIObjects reads the ConfigMaps and Secrets pods refer to straight from
// the API server. Missing objects are NotFound errors worded as upstream's
// kubelet words them (`configmap "x" not found`).
type APIObjects struct {
	Client kubernetes.Interface
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
