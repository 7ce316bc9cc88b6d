package rootcacertpublisher

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/serviceaccount"
)

const (
	// ConfigMapName is the ConfigMap published in every namespace.
	ConfigMapName = "kube-root-ca.crt"
	// DataKey holds the CA bundle.
	DataKey = "ca.crt"
	// DescriptionAnnotation and Description describe what it is for.
	DescriptionAnnotation = "kubernetes.io/description"
	Description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Descriptor is the root CA publisher.
var Descriptor = controllers.Descriptor{Name: "root-ca-cert-publisher", Setup: Setup}

// Setup registers the publisher. Without any CA bundle (no RootCAFile and
// no CA in the REST config) it does nothing.
func Setup(ctx context.Context, c controllers.Context) error {
	ca, err := serviceaccount.RootCA(c)
	if err != nil {
		return err
	}
	if len(ca) == 0 {
		ctrl.LoggerFrom(ctx).Info("Root CA publisher disabled: no root CA")
		return nil
	}
	r := &Reconciler{Client: c.Manager.GetClient(), RootCA: ca}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("root-ca-cert-publisher").
		For(&corev1.Namespace{}).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			if o.GetName() != ConfigMapName {
				return nil
			}
			return []ctrl.Request{{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}}}
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
}

// Reconciler publishes RootCA into one namespace.
type Reconciler struct {
	Client client.Client
	RootCA []byte
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, req.NamespacedName, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return ctrl.Result{}, nil
	}
	data := map[string]string{DataKey: string(r.RootCA)}
	var cm corev1.ConfigMap
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns.Name, Name: ConfigMapName}, &cm)
	if apierrors.IsNotFound(err) {
		cm = corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:   ns.Name,
				Name:        ConfigMapName,
				Annotations: map[string]string{DescriptionAnnotation: Description},
			},
			Data: data,
		}
		err := r.Client.Create(ctx, &cm)
		switch {
		case err == nil, apierrors.IsNotFound(err), apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			return ctrl.Result{}, nil
		case apierrors.IsAlreadyExists(err):
			return ctrl.Result{RequeueAfter: cacheRetry}, nil
		}
		return ctrl.Result{}, fmt.Errorf("creating %s in %s: %w", ConfigMapName, ns.Name, err)
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("getting %s in %s: %w", ConfigMapName, ns.Name, err)
	}
	if maps.Equal(cm.Data, data) && len(cm.BinaryData) == 0 && cm.Annotations[DescriptionAnnotation] != "" {
		return ctrl.Result{}, nil
	}
	next := cm.DeepCopy()
	next.Data = data
	next.BinaryData = nil
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[DescriptionAnnotation] = Description
	if err := r.Client.Update(ctx, next); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: cacheRetry}, nil
		}
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("updating %s in %s: %w", ConfigMapName, ns.Name, err)
	}
	return ctrl.Result{}, nil
}

// cacheRetry is when a sync that lost a race with the cache (a conflict,
// or an object the cache has not seen yet) is retried at the latest; the
// watch event of the newer object usually requeues it sooner.
const cacheRetry = time.Second
