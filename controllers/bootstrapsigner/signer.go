package bootstrapsigner

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	bootstrapsecretutil "k8s.io/cluster-bootstrap/util/secrets"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/internal/bootstraptoken"
)

// Descriptor is the bootstrap signer.
var Descriptor = controllers.Descriptor{Name: "bootstrapsigner", Setup: Setup}

// clusterInfo is the one object this controller reconciles.
var clusterInfo = types.NamespacedName{Namespace: metav1.NamespacePublic, Name: bootstrapapi.ConfigMapClusterInfo}

// Setup registers the bootstrap signer: cluster-info changes and bootstrap
// token Secret changes all reconcile cluster-info.
func Setup(_ context.Context, c controllers.Context) error {
	r := &Reconciler{Client: c.Manager.GetClient(), Now: time.Now}
	isClusterInfo := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == clusterInfo.Namespace && o.GetName() == clusterInfo.Name
	})
	isToken := predicate.NewPredicateFuncs(func(o client.Object) bool {
		s, ok := o.(*corev1.Secret)
		return ok && s.Namespace == metav1.NamespaceSystem && s.Type == bootstrapapi.SecretTypeBootstrapToken
	})
	toClusterInfo := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: clusterInfo}}
	})
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("bootstrapsigner").
		For(&corev1.ConfigMap{}, builder.WithPredicates(isClusterInfo)).
		Watches(&corev1.Secret{}, toClusterInfo, builder.WithPredicates(isToken)).
		Complete(r)
	if err != nil {
		return fmt.Errorf("bootstrapsigner: %w", err)
	}
	return nil
}

// Reconciler signs cluster-info.
type Reconciler struct {
	Client client.Client
	Now    func() time.Time
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if req.NamespacedName != clusterInfo {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	var cm corev1.ConfigMap
	if err := r.Client.Get(ctx, clusterInfo, &cm); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	content, ok := cm.Data[bootstrapapi.KubeConfigKey]
	if !ok {
		log.V(1).Info("cluster-info has no kubeconfig to sign", "configmap", clusterInfo)
		return ctrl.Result{}, nil
	}
	var secrets corev1.SecretList
	if err := r.Client.List(ctx, &secrets, client.InNamespace(metav1.NamespaceSystem)); err != nil {
		return ctrl.Result{}, fmt.Errorf("list bootstrap token secrets: %w", err)
	}
	now := r.Now()
	want := map[string]string{}
	var next time.Duration
	for i := range secrets.Items {
		id, secret, ttl, ok := signingToken(&secrets.Items[i], now)
		if !ok {
			continue
		}
		sig, err := bootstraptoken.ComputeDetachedSignature(content, id, secret)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("sign cluster-info for token %s: %w", id, err)
		}
		want[bootstrapapi.JWSSignatureKeyPrefix+id] = sig
		if ttl > 0 && (next == 0 || ttl < next) {
			next = ttl
		}
	}
	have := map[string]string{}
	for k, v := range cm.Data {
		if strings.HasPrefix(k, bootstrapapi.JWSSignatureKeyPrefix) {
			have[k] = v
		}
	}
	// Come back when the first signing token expires, to drop its signature
	// even if the token cleaner is not running.
	result := ctrl.Result{RequeueAfter: next}
	if maps.Equal(have, want) {
		return result, nil
	}
	updated := cm.DeepCopy()
	for k := range have {
		delete(updated.Data, k)
	}
	maps.Copy(updated.Data, want)
	if err := r.Client.Update(ctx, updated); err != nil {
		return ctrl.Result{}, fmt.Errorf("update signatures of %s: %w", clusterInfo, err)
	}
	log.V(1).Info("Updated cluster-info signatures", "configmap", clusterInfo, "signatures", len(want))
	return result, nil
}

// signingToken returns the token of a Secret that may sign cluster-info
// now, and how long until it expires (0: never).
func signingToken(s *corev1.Secret, now time.Time) (id, secret string, ttl time.Duration, ok bool) {
	if s.Type != bootstrapapi.SecretTypeBootstrapToken || s.DeletionTimestamp != nil {
		return "", "", 0, false
	}
	id = bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenIDKey)
	if nameID, named := bootstrapsecretutil.ParseName(s.Name); !named || nameID != id {
		return "", "", 0, false
	}
	secret = bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenSecretKey)
	if !bootstraputil.IsValidBootstrapToken(bootstraputil.TokenFromIDAndSecret(id, secret)) {
		return "", "", 0, false
	}
	if bootstrapsecretutil.GetData(s, bootstrapapi.BootstrapTokenUsageSigningKey) != "true" {
		return "", "", 0, false
	}
	ttl, expired := bootstrapsecretutil.GetExpiration(s, now)
	if expired {
		return "", "", 0, false
	}
	return id, secret, ttl, true
}
