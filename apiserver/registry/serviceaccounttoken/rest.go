package serviceaccounttoken

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	authenticationtokenjwt "k8s.io/apiserver/pkg/authentication/token/jwt"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/authn/serviceaccount"
	authnvalidation "github.com/skiff-dev/skiff/apiserver/validation/authentication"
)

const (
	// defaultExpirationSeconds is the lifetime of a token whose request
	// names none.
	defaultExpirationSeconds = 60 * 60
)

// Config configures the TokenRequest storage.
type Config struct {
	// ServiceAccounts reads the service accounts tokens are issued for.
	ServiceAccounts rest.Getter
	// Pods, Secrets and Nodes read the objects tokens can be bound to; a
	// nil one makes binding to that kind a bad request (and, for Nodes,
	// pod-bound tokens record only their node's name).
	Pods, Secrets, Nodes rest.Getter
	// Generator signs the tokens.
	Generator *serviceaccount.Generator
	// APIAudiences are the audiences of tokens whose request names none
	// (--api-audiences).
	APIAudiences authenticator.Audiences
	// MaxExpiration, if positive, caps the lifetime of issued tokens
	// (--service-account-max-token-expiration).
	MaxExpiration time.Duration
	// ExtendExpiration issues pod-bound tokens requested for
	// serviceaccount.WarnOnlyBoundTokenExpirationSeconds for
	// MaxExtendedExpiration instead (--service-account-extend-token-expiration).
	ExtendExpiration bool
	// MaxExtendedExpiration is the lifetime of extended tokens; zero means
	// kube-apiserver's default, serviceaccount.ExpirationExtensionSeconds.
	MaxExtendedExpiration time.Duration
}

// REST creates TokenRequests for the service account named in the URL.
type REST struct {
	serviceAccounts, pods, secrets, nodes rest.Getter
	generator                             *serviceaccount.Generator
	audiences                             authenticator.Audiences
	audienceSet                           sets.Set[string]
	maxExpirationSeconds                  int64
	extendExpiration                      bool
	maxExtendedExpirationSeconds          int64
}

var (
	_ rest.Storage                        = &REST{}
	_ rest.NamedCreater                   = &REST{}
	_ rest.GroupVersionKindProvider       = &REST{}
	_ rest.SubresourceObjectMetaPreserver = &REST{}
)

var tokenRequestGVK = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// NewREST returns the storage of serviceaccounts/token. ServiceAccounts and
// Generator are required.
func NewREST(cfg Config) (*REST, error) {
	if cfg.ServiceAccounts == nil {
		return nil, errors.New("serviceaccounts/token storage: no service account getter")
	}
	if cfg.Generator == nil {
		return nil, errors.New("serviceaccounts/token storage: no token generator")
	}
	maxExtended := cfg.MaxExtendedExpiration
	if maxExtended == 0 {
		maxExtended = serviceaccount.ExpirationExtensionSeconds * time.Second
	}
	return &REST{
		serviceAccounts:              cfg.ServiceAccounts,
		pods:                         cfg.Pods,
		secrets:                      cfg.Secrets,
		nodes:                        cfg.Nodes,
		generator:                    cfg.Generator,
		audiences:                    cfg.APIAudiences,
		audienceSet:                  sets.New(cfg.APIAudiences...),
		maxExpirationSeconds:         int64(cfg.MaxExpiration.Seconds()),
		extendExpiration:             cfg.ExtendExpiration,
		maxExtendedExpirationSeconds: int64(maxExtended.Seconds()),
	}, nil
}

// New returns an empty TokenRequest.
func (r *REST) New() runtime.Object {
	return &authenticationv1.TokenRequest{}
}

// Destroy does nothing: the storage holds no resources.
func (r *REST) Destroy() {}

// GroupVersionKind reports that the subresource takes and returns
// authentication.k8s.io/v1 TokenRequests.
func (r *REST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return tokenRequestGVK
}

// PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate keeps the
// request's metadata.uid, which must match the service account's.
func (r *REST) PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() bool {
	return true
}

// Create issues a token for the service account name in the request's
// namespace and returns obj, a TokenRequest, with its defaults applied and
// status.token and status.expirationTimestamp set.
func (r *REST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	req, ok := obj.(*authenticationv1.TokenRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenRequest: %T", obj))
	}
	namespace, ok := genericapirequest.NamespaceFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("namespace is required")
	}
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(tokenRequestGVK.GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified"),
		})
	}
	if req.Namespace != "" && req.Namespace != namespace {
		return nil, apierrors.NewInvalid(tokenRequestGVK.GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified"),
		})
	}

	saObj, err := r.serviceAccounts.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sa, ok := saObj.(*corev1.ServiceAccount)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("service account getter returned %T", saObj))
	}
	if req.UID != "" && req.UID != sa.UID {
		return nil, apierrors.NewConflict(schema.GroupResource{Group: tokenRequestGVK.Group, Resource: tokenRequestGVK.Kind}, name,
			fmt.Errorf("the UID in the token request (%s) does not match the UID of the service account (%s)", req.UID, sa.UID))
	}

	if req.Spec.ExpirationSeconds == nil {
		seconds := int64(defaultExpirationSeconds)
		req.Spec.ExpirationSeconds = &seconds
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = r.audiences
	}
	if req.Name == "" {
		req.Name = sa.Name
	}
	if req.Namespace == "" {
		req.Namespace = sa.Namespace
	}
	if req.UID == "" {
		req.UID = sa.UID
	}
	// Take the time before signing so that status.expirationTimestamp is
	// never later than the token's exp.
	nowTime := time.Now()
	req.CreationTimestamp = metav1.NewTime(nowTime)
	req.Status = authenticationv1.TokenRequestStatus{}

	if errs := authnvalidation.ValidateTokenRequest(req); len(errs) != 0 {
		return nil, apierrors.NewInvalid(tokenRequestGVK.GroupKind(), "", errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, req.DeepCopyObject()); err != nil {
			return nil, err
		}
	}

	bound, err := r.resolveBoundObject(ctx, name, namespace, req.Spec.BoundObjectRef)
	if err != nil {
		return nil, err
	}

	if r.maxExpirationSeconds > 0 && *req.Spec.ExpirationSeconds > r.maxExpirationSeconds {
		warning.AddWarning(ctx, "", fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", *req.Spec.ExpirationSeconds, r.maxExpirationSeconds))
		seconds := r.maxExpirationSeconds
		req.Spec.ExpirationSeconds = &seconds
	}
	// Extended tokens let kubelets that do not yet refresh projected tokens
	// keep working: they are valid for much longer, and only reported as
	// stale after the requested expiration.
	var warnAfter int64
	expiration := *req.Spec.ExpirationSeconds
	if r.extendExpiration && bound.pod != nil && expiration == serviceaccount.WarnOnlyBoundTokenExpirationSeconds && r.audienceSet.HasAll(req.Spec.Audiences...) {
		warnAfter = expiration
		expiration = r.maxExtendedExpirationSeconds
	}

	claims, err := serviceaccount.Claims(sa, bound.pod, bound.secret, bound.node, expiration, warnAfter, req.Spec.Audiences)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	token, err := r.generator.GenerateToken(claims)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token: %w", err))
	}

	out := req.DeepCopy()
	out.Status = authenticationv1.TokenRequestStatus{
		Token:               token,
		ExpirationTimestamp: metav1.NewTime(nowTime.Add(time.Duration(*out.Spec.ExpirationSeconds) * time.Second)),
	}
	if claims.ID != "" {
		audit.AddAuditAnnotation(ctx, apiserverserviceaccount.IssuedCredentialIDAuditAnnotationKey, authenticationtokenjwt.CredentialIDForJTI(claims.ID))
	}
	return out, nil
}

// validateSpec is the static validation of a defaulted TokenRequest spec.
// boundObjects are the objects a token is bound to.
type boundObjects struct {
	pod    *corev1.Pod
	secret *corev1.Secret
	node   *corev1.Node
}

// resolveBoundObject fetches the object ref binds the token to and checks
// it. For a pod it also fetches the pod's node, whose name (and, when the
// node exists, UID) the token records.
func (r *REST) resolveBoundObject(ctx context.Context, saName, namespace string, ref *authenticationv1.BoundObjectReference) (boundObjects, error) {
	var bound boundObjects
	if ref == nil {
		return bound, nil
	}
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	var uid types.UID
	if getter, known := map[string]rest.Getter{"Pod": r.pods, "Node": r.nodes, "Secret": r.secrets}[gvk.Kind]; known && gvk.Group == "" && getter == nil {
		return bound, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s: this server does not look up %ss for tokens", gvk.String(), gvk.Kind))
	}
	switch {
	case gvk.Group == "" && gvk.Kind == "Pod":
		pod, err := get[*corev1.Pod](withRequestInfo(ctx, "pods", ref.Name, namespace, gvk), r.pods, ref.Name, &metav1.GetOptions{})
		if err != nil {
			return bound, err
		}
		if pod.Spec.ServiceAccountName != saName {
			return bound, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", saName))
		}
		bound.pod, uid = pod, pod.UID
		if bound.node, err = r.podNode(ctx, pod); err != nil {
			return bound, err
		}
	case gvk.Group == "" && gvk.Kind == "Node":
		node, err := get[*corev1.Node](withRequestInfo(ctx, "nodes", ref.Name, "", gvk), r.nodes, ref.Name, &metav1.GetOptions{})
		if err != nil {
			return bound, err
		}
		bound.node, uid = node, node.UID
	case gvk.Group == "" && gvk.Kind == "Secret":
		secret, err := get[*corev1.Secret](withRequestInfo(ctx, "secrets", ref.Name, namespace, gvk), r.secrets, ref.Name, &metav1.GetOptions{})
		if err != nil {
			return bound, err
		}
		bound.secret, uid = secret, secret.UID
	default:
		return bound, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
	}
	if ref.UID != "" && ref.UID != uid {
		return bound, apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return bound, nil
}

// podNode returns the node pod is scheduled to, or nil if it is not
// scheduled. A node that cannot be found is returned with only its name, so
// that the token still says where the pod runs.
func (r *REST) podNode(ctx context.Context, pod *corev1.Pod) (*corev1.Node, error) {
	nodeName := pod.Spec.NodeName
	if nodeName == "" {
		return nil, nil
	}
	nameOnly := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}
	if r.nodes == nil {
		return nameOnly, nil
	}
	ctx = withRequestInfo(ctx, "nodes", nodeName, "", corev1.SchemeGroupVersion.WithKind("Node"))
	// Try the watch cache first, then a live read.
	node, err := get[*corev1.Node](ctx, r.nodes, nodeName, &metav1.GetOptions{ResourceVersion: "0"})
	if err != nil {
		node, err = get[*corev1.Node](ctx, r.nodes, nodeName, &metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		klog.V(4).ErrorS(err, "failed fetching node for pod", "pod", klog.KObj(pod), "podUID", pod.UID, "nodeName", nodeName)
		return nameOnly, nil
	case err != nil:
		return nil, apierrors.NewInternalError(err)
	}
	return node, nil
}

// get reads name with getter and checks that it is a T.
func get[T runtime.Object](ctx context.Context, getter rest.Getter, name string, options *metav1.GetOptions) (T, error) {
	var zero T
	obj, err := getter.Get(ctx, name, options)
	if err != nil {
		return zero, err
	}
	typed, ok := obj.(T)
	if !ok {
		return zero, apierrors.NewInternalError(fmt.Errorf("getter for %q returned %T, want %T", name, obj, zero))
	}
	return typed, nil
}

// withRequestInfo returns ctx with the request info of a get of name, so the
// read of a bound object is attributed to that object rather than to the
// service account's token subresource.
func withRequestInfo(ctx context.Context, resource, name, namespace string, gvk schema.GroupVersionKind) context.Context {
	return genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true,
		Verb:              "get",
		Namespace:         namespace,
		Resource:          resource,
		Name:              name,
		Parts:             []string{resource, name},
		APIGroup:          gvk.Group,
		APIVersion:        gvk.Version,
	})
}
