package serviceaccount

import (
	"bytes"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sa "github.com/skiff-dev/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-dev/skiff/controllers"
)

// TokenDescriptor is the legacy token Secret controller. Without
// Options.ServiceAccountPrivateKeyFile it does nothing.
var TokenDescriptor = controllers.Descriptor{Name: "serviceaccount-token", Setup: SetupTokens}

// SetupTokens registers the token controller when a signing key is set.
func SetupTokens(ctx context.Context, c controllers.Context) error {
	if c.Options.ServiceAccountPrivateKeyFile == "" {
		ctrl.LoggerFrom(ctx).Info("Service account token controller disabled: no --service-account-private-key-file")
		return nil
	}
	key, err := sa.LoadSigningKey(c.Options.ServiceAccountPrivateKeyFile)
	if err != nil {
		return err
	}
	gen, err := sa.NewGenerator(sa.LegacyIssuer, key)
	if err != nil {
		return fmt.Errorf("service account token signer: %w", err)
	}
	rootCA, err := RootCA(c)
	if err != nil {
		return err
	}
	r := &TokenReconciler{Client: c.Manager.GetClient(), Live: c.Manager.GetAPIReader(), Generator: gen, RootCA: rootCA}
	isToken := predicate.NewPredicateFuncs(func(o client.Object) bool {
		s, ok := o.(*corev1.Secret)
		return ok && s.Type == corev1.SecretTypeServiceAccountToken
	})
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("serviceaccount-token").
		For(&corev1.Secret{}, builder.WithPredicates(isToken)).
		Watches(&corev1.ServiceAccount{}, handler.EnqueueRequestsFromMapFunc(r.secretsOf)).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// TokenReconciler populates or deletes one token Secret.
type TokenReconciler struct {
	Client    client.Client
	Live      client.Reader
	Generator *sa.Generator
	RootCA    []byte
}

// secretsOf maps a ServiceAccount to the token Secrets referencing it.
func (r *TokenReconciler) secretsOf(ctx context.Context, o client.Object) []ctrl.Request {
	var list corev1.SecretList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	var out []ctrl.Request
	for _, s := range list.Items {
		if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == o.GetName() {
			out = append(out, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&s)})
		}
	}
	return out
}

// Reconcile implements reconcile.Reconciler.
func (r *TokenReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	var secret corev1.Secret
	if err := r.Client.Get(ctx, req.NamespacedName, &secret); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if secret.Type != corev1.SecretTypeServiceAccountToken || secret.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	saName := secret.Annotations[corev1.ServiceAccountNameKey]
	saUID := secret.Annotations[corev1.ServiceAccountUIDKey]
	account, err := r.serviceAccount(ctx, secret.Namespace, saName, saUID)
	if err != nil {
		return ctrl.Result{}, err
	}
	if account == nil {
		// The ServiceAccount is gone (or was replaced): so is its token.
		log.V(2).Info("Deleting token secret of missing service account", "secret", req, "serviceAccount", saName)
		err := r.Client.Delete(ctx, &secret, client.Preconditions{UID: &secret.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return ctrl.Result{}, fmt.Errorf("deleting token secret %s: %w", req, err)
		}
		return ctrl.Result{}, nil
	}

	needsCA := len(r.RootCA) > 0 && !bytes.Equal(secret.Data[corev1.ServiceAccountRootCAKey], r.RootCA)
	needsNamespace := string(secret.Data[corev1.ServiceAccountNamespaceKey]) != secret.Namespace
	needsToken := len(secret.Data[corev1.ServiceAccountTokenKey]) == 0
	needsUID := secret.Annotations[corev1.ServiceAccountUIDKey] != string(account.UID)
	if !needsCA && !needsNamespace && !needsToken && !needsUID {
		return ctrl.Result{}, nil
	}
	next := secret.DeepCopy()
	if next.Data == nil {
		next.Data = map[string][]byte{}
	}
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if needsCA {
		next.Data[corev1.ServiceAccountRootCAKey] = r.RootCA
	}
	if needsNamespace {
		next.Data[corev1.ServiceAccountNamespaceKey] = []byte(secret.Namespace)
	}
	if needsToken {
		token, err := r.Generator.GenerateToken(sa.NewLegacyClaims(account, next))
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("generating token for secret %s: %w", req, err)
		}
		next.Data[corev1.ServiceAccountTokenKey] = []byte(token)
	}
	next.Annotations[corev1.ServiceAccountNameKey] = account.Name
	next.Annotations[corev1.ServiceAccountUIDKey] = string(account.UID)
	if err := r.Client.Update(ctx, next); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		if apierrors.IsConflict(err) {
			// The cache is behind; the update event requeues it.
			return ctrl.Result{RequeueAfter: cacheRetry}, nil
		}
		return ctrl.Result{}, fmt.Errorf("updating token secret %s: %w", req, err)
	}
	return ctrl.Result{}, nil
}

// serviceAccount finds the named ServiceAccount with the given UID (any UID
// if empty), asking the API server when the cache does not have it yet.
// It returns nil when there is none.
func (r *TokenReconciler) serviceAccount(ctx context.Context, ns, name, uid string) (*corev1.ServiceAccount, error) {
	if name == "" {
		return nil, nil
	}
	key := types.NamespacedName{Namespace: ns, Name: name}
	for _, reader := range []client.Reader{r.Client, r.Live} {
		var account corev1.ServiceAccount
		err := reader.Get(ctx, key, &account)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("getting service account %s: %w", key, err)
		}
		if uid != "" && string(account.UID) != uid {
			continue
		}
		return &account, nil
	}
	return nil, nil
}

// cacheRetry is when a sync that lost a race with the cache (a conflict,
// or an object the cache has not seen yet) is retried at the latest; the
// watch event of the newer object usually requeues it sooner.
const cacheRetry = time.Second
