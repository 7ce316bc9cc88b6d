package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

const (
	// PluginName is the name the plugin is registered and enabled under.
	PluginName = "ServiceAccount"

	// DefaultServiceAccountName is the service account given to pods that
	// name none.
	DefaultServiceAccountName = "default"

	// EnforceMountableSecretsAnnotation, set to a true value on a service
	// account, limits the secrets its pods may reference to those the
	// service account lists.
	EnforceMountableSecretsAnnotation = "kubernetes.io/enforce-mountable-secrets"

	// ephemeralContainersSubresource is the pod subresource through which
	// ephemeral containers are added.
	ephemeralContainersSubresource = "ephemeralcontainers"

	// defaultAccountLookups is how many live GETs are made for the default
	// service account, which its controller may not have created yet.
	defaultAccountLookups = 10
)

// Register adds the ServiceAccount plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return NewServiceAccount(), nil
	})
}

// Plugin is the ServiceAccount admission plugin. Build it with
// NewServiceAccount; it needs a client set and an informer factory, which
// admission's plugin initializer provides.
type Plugin struct {
	*admission.Handler

	client               kubernetes.Interface
	serviceAccountLister corev1listers.ServiceAccountLister

	// retryInterval gives the pause between live lookups of a service
	// account missing from the lister.
	retryInterval func() time.Duration
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet       = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
)

// NewServiceAccount returns the plugin, handling pod creates and
// ephemeral-container updates. On create it defaults
// spec.serviceAccountName to "default", requires the service account to
// exist, mounts a projected API token into the pod's containers unless
// automounting is disabled, and copies the service account's image pull
// secrets into a pod that has none. Validation rejects mirror pods that
// reference service accounts, secrets or tokens, and pods referencing
// secrets their service account does not list when it enforces mountable
// secrets.
func NewServiceAccount() *Plugin {
	return &Plugin{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		retryInterval: func() time.Duration {
			return 100*time.Millisecond + rand.N(100*time.Millisecond)
		},
	}
}

// SetExternalKubeClientSet sets the client used when a service account is
// not in the informer's cache yet.
func (p *Plugin) SetExternalKubeClientSet(client kubernetes.Interface) {
	p.client = client
}

// SetExternalKubeInformerFactory takes the service account lister from f
// and reports the plugin ready once its informer has synced. A nil factory
// leaves the plugin without a lister, which ValidateInitialization reports.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	if f == nil {
		return
	}
	serviceAccounts := f.Core().V1().ServiceAccounts()
	p.serviceAccountLister = serviceAccounts.Lister()
	p.SetReadyFunc(serviceAccounts.Informer().HasSynced)
}

// ValidateInitialization reports a missing client or lister.
func (p *Plugin) ValidateInitialization() error {
	if p.client == nil {
		return errors.New("missing client")
	}
	if p.serviceAccountLister == nil {
		return errors.New("missing serviceAccountLister")
	}
	return nil
}

// Admit mutates pods on create (see NewServiceAccount), then validates them.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	pod, ok := handledPod(a)
	if !ok || a.GetOperation() != admission.Create {
		return nil
	}
	// The kubelet deletes a mirror pod whose spec differs from its static
	// pod, so mirror pods are only validated, never changed.
	if isMirrorPod(pod) {
		return p.Validate(ctx, a, o)
	}

	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	sa, err := p.getServiceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return lookupError(a, pod, err)
	}
	if shouldAutomount(sa, pod) {
		mountServiceAccountToken(pod)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = make([]corev1.LocalObjectReference, len(sa.ImagePullSecrets))
		for i, ref := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets[i].Name = ref.Name
		}
	}
	return p.Validate(ctx, a, o)
}

// Validate checks created pods and pods gaining ephemeral containers
// against their service account (see NewServiceAccount).
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	pod, ok := handledPod(a)
	if !ok {
		return nil
	}
	switch {
	case a.GetOperation() == admission.Update && a.GetSubresource() == ephemeralContainersSubresource:
		return p.validateEphemeralContainers(ctx, a, pod)
	case a.GetOperation() != admission.Create:
		return nil
	case isMirrorPod(pod):
		return validateMirrorPod(a, pod)
	}

	if pod.Spec.ServiceAccountName == "" {
		return admission.NewForbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.GetNamespace(), pod.Name))
	}
	sa, err := p.getServiceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return lookupError(a, pod, err)
	}
	if enforcesMountableSecrets(sa) {
		if err := checkPodSecretReferences(sa, pod); err != nil {
			return admission.NewForbidden(a, err)
		}
	}
	return nil
}

// validateEphemeralContainers checks the secrets the pod's ephemeral
// containers reference against its service account.
func (p *Plugin) validateEphemeralContainers(ctx context.Context, a admission.Attributes, pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName == "" {
		return admission.NewForbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.GetNamespace(), pod.Name))
	}
	sa, err := p.getServiceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return lookupError(a, pod, err)
	}
	if !enforcesMountableSecrets(sa) {
		return nil
	}
	allowed := mountableSecrets(sa)
	for i := range pod.Spec.EphemeralContainers {
		c := &pod.Spec.EphemeralContainers[i]
		if err := checkContainerSecretReferences(sa.Name, allowed, "ephemeral container", c.Name, c.Env, c.EnvFrom); err != nil {
			return admission.NewForbidden(a, err)
		}
	}
	return nil
}

// handledPod returns the pod of a request this plugin acts on: the pods
// resource itself or its ephemeralcontainers subresource.
func handledPod(a admission.Attributes) (*corev1.Pod, bool) {
	if a.GetResource().GroupResource() != corev1.Resource("pods") {
		return nil, false
	}
	if sub := a.GetSubresource(); sub != "" && sub != ephemeralContainersSubresource {
		return nil, false
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	return pod, ok && pod != nil
}

func isMirrorPod(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]
	return ok
}

// shouldAutomount tells whether the API token is mounted: the pod's
// setting wins over the service account's, and the default is to mount.
func shouldAutomount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// enforcesMountableSecrets tells whether sa carries a true
// EnforceMountableSecretsAnnotation.
func enforcesMountableSecrets(sa *corev1.ServiceAccount) bool {
	enforce, _ := strconv.ParseBool(sa.Annotations[EnforceMountableSecretsAnnotation])
	return enforce
}

// lookupError reports a failed service account lookup as Forbidden.
func lookupError(a admission.Attributes, pod *corev1.Pod, err error) error {
	return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
}

// getServiceAccount returns the named service account from the lister,
// falling back to live GETs (several, for the default account) when the
// cache does not have it yet.
func (p *Plugin) getServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	sa, err := p.serviceAccountLister.ServiceAccounts(namespace).Get(name)
	if err == nil {
		return sa, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}

	attempts := 1
	if name == DefaultServiceAccountName {
		attempts = defaultAccountLookups
	}
	interval := p.retryInterval()
	for i := range attempts {
		if i > 0 {
			if err := sleep(ctx, interval); err != nil {
				return nil, err
			}
		}
		sa, err := p.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return sa, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, apierrors.NewNotFound(corev1.Resource("serviceaccount"), name)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("waiting to retry the lookup: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}
