package serviceaccount

import (
	"context"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// ObjectGetter fetches the objects a token refers to. Each method returns
// the object or an error; a missing object is a NotFound API error.
type ObjectGetter interface {
	GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	GetNode(ctx context.Context, name string) (*corev1.Node, error)
}

// NewListerGetter returns an ObjectGetter reading client-go listers (an
// informer cache). serviceAccounts and secrets are required; pods and nodes
// may be nil, and then every pod or node is reported as not found, with a
// message saying why.
func NewListerGetter(serviceAccounts corev1listers.ServiceAccountLister, secrets corev1listers.SecretLister, pods corev1listers.PodLister, nodes corev1listers.NodeLister) ObjectGetter {
	return &listerGetter{serviceAccounts: serviceAccounts, secrets: secrets, pods: pods, nodes: nodes}
}

type listerGetter struct {
	serviceAccounts corev1listers.ServiceAccountLister
	secrets         corev1listers.SecretLister
	pods            corev1listers.PodLister
	nodes           corev1listers.NodeLister
}

func (g *listerGetter) GetServiceAccount(_ context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	return g.serviceAccounts.ServiceAccounts(namespace).Get(name)
}

func (g *listerGetter) GetSecret(_ context.Context, namespace, name string) (*corev1.Secret, error) {
	return g.secrets.Secrets(namespace).Get(name)
}

func (g *listerGetter) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	if g.pods == nil {
		return nil, untracked("pods", name)
	}
	return g.pods.Pods(namespace).Get(name)
}

func (g *listerGetter) GetNode(_ context.Context, name string) (*corev1.Node, error) {
	if g.nodes == nil {
		return nil, untracked("nodes", name)
	}
	return g.nodes.Get(name)
}

// untracked is the NotFound error for a resource the getter has no lister
// for.
func untracked(resource, name string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotFound,
		Reason:  metav1.StatusReasonNotFound,
		Details: &metav1.StatusDetails{Kind: resource, Name: name},
		Message: fmt.Sprintf("%s %q not found: service account token validation does not track %s", resource, name, resource),
	}}
}
