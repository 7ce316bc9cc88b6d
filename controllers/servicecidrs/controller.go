package servicecidrs

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

const (
	// Finalizer holds a ServiceCIDR while IPs depend on it.
	Finalizer = "networking.k8s.io/service-cidr-finalizer"
	// DeletionGracePeriod is how long after its deletion a ServiceCIDR
	// with no dependent IPs is kept, as upstream: allocators that still
	// saw it ready have finished by then.
	DeletionGracePeriod = 10 * time.Second
	// ReadyMessage and TerminatingMessage are upstream's condition texts.
	ReadyMessage       = "Kubernetes Service CIDR is ready"
	TerminatingMessage = "There are still IPAddresses referencing the ServiceCIDR, please remove them or create a new ServiceCIDR"

	// managedBy is the managed-by label value of IPs the Service IP
	// allocator creates; other IPAddresses do not hold a ServiceCIDR.
	managedBy = "ipallocator.k8s.io"
	name      = "service-cidr-controller"
)

// Descriptor is the ServiceCIDR controller with upstream's grace period.
var Descriptor = NewDescriptor(DeletionGracePeriod)

// NewDescriptor is the controller with another deletion grace period
// (tests).
func NewDescriptor(grace time.Duration) controllers.Descriptor {
	return controllers.Descriptor{Name: name, Setup: func(ctx context.Context, c controllers.Context) error {
		r := &Reconciler{Client: c.Manager.GetClient(), GracePeriod: grace}
		// Every IPAddress or ServiceCIDR change may unblock (or block) a
		// ServiceCIDR being deleted.
		deleting := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
			return r.deleting(ctx)
		})
		return ctrl.NewControllerManagedBy(c.Manager).
			Named(name).
			For(&networkingv1.ServiceCIDR{}).
			Watches(&networkingv1.IPAddress{}, deleting).
			Watches(&networkingv1.ServiceCIDR{}, deleting).
			WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
			Complete(r)
	}}
}

// Reconciler reconciles one ServiceCIDR.
type Reconciler struct {
	Client      client.Client
	GracePeriod time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) deleting(ctx context.Context) []reconcile.Request {
	var list networkingv1.ServiceCIDRList
	if err := r.Client.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing ServiceCIDRs failed")
		return nil
	}
	var out []reconcile.Request
	for _, c := range list.Items {
		if c.DeletionTimestamp != nil {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
		}
	}
	return out
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	cidr := &networkingv1.ServiceCIDR{}
	if err := r.Client.Get(ctx, req.NamespacedName, cidr); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if cidr.DeletionTimestamp != nil {
		if !slices.Contains(cidr.Finalizers, Finalizer) {
			return reconcile.Result{}, nil
		}
		var cidrs networkingv1.ServiceCIDRList
		if err := r.Client.List(ctx, &cidrs); err != nil {
			return reconcile.Result{}, fmt.Errorf("list ServiceCIDRs: %w", err)
		}
		var ips networkingv1.IPAddressList
		if err := r.Client.List(ctx, &ips, client.MatchingLabels{networkingv1.LabelManagedBy: managedBy}); err != nil {
			return reconcile.Result{}, fmt.Errorf("list IPAddresses: %w", err)
		}
		if blocker := Blocker(cidr, cidrs.Items, ips.Items); blocker != "" {
			ctrl.LoggerFrom(ctx).V(2).Info("ServiceCIDR deletion blocked by an IP address", "ipaddress", blocker)
			return r.setCondition(ctx, cidr, metav1.ConditionFalse, networkingv1.ServiceCIDRReasonTerminating, TerminatingMessage)
		}
		if wait := r.GracePeriod - r.now().Sub(cidr.DeletionTimestamp.Time); wait > 0 {
			return reconcile.Result{RequeueAfter: wait}, nil
		}
		return r.removeFinalizer(ctx, cidr)
	}
	if !slices.Contains(cidr.Finalizers, Finalizer) {
		next := cidr.DeepCopy()
		next.Finalizers = append(next.Finalizers, Finalizer)
		if err := r.Client.Patch(ctx, next, client.MergeFromWithOptions(cidr, client.MergeFromWithOptimisticLock{})); err != nil {
			return conflictOrError(err, "add finalizer to ServiceCIDR %s", cidr.Name)
		}
		cidr = next
	}
	return r.setCondition(ctx, cidr, metav1.ConditionTrue, "", ReadyMessage)
}

func (r *Reconciler) removeFinalizer(ctx context.Context, cidr *networkingv1.ServiceCIDR) (reconcile.Result, error) {
	next := cidr.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == Finalizer })
	if err := r.Client.Patch(ctx, next, client.MergeFromWithOptions(cidr, client.MergeFromWithOptimisticLock{})); err != nil {
		return conflictOrError(err, "remove finalizer of ServiceCIDR %s", cidr.Name)
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Removed protection finalizer from ServiceCIDR")
	return reconcile.Result{}, nil
}

// setCondition writes the Ready condition when it differs.
func (r *Reconciler) setCondition(ctx context.Context, cidr *networkingv1.ServiceCIDR, status metav1.ConditionStatus, reason, message string) (reconcile.Result, error) {
	cur := apimeta.FindStatusCondition(cidr.Status.Conditions, networkingv1.ServiceCIDRConditionReady)
	if cur != nil && cur.Status == status && cur.Reason == reason && cur.Message == message {
		return reconcile.Result{}, nil
	}
	next := cidr.DeepCopy()
	apimeta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{
		Type: networkingv1.ServiceCIDRConditionReady, Status: status, Reason: reason, Message: message,
		LastTransitionTime: metav1.NewTime(r.now()),
	})
	if err := r.Client.Status().Update(ctx, next); err != nil {
		return conflictOrError(err, "update status of ServiceCIDR %s", cidr.Name)
	}
	return reconcile.Result{}, nil
}

func conflictOrError(err error, format string, args ...any) (reconcile.Result, error) {
	if apierrors.IsConflict(err) {
		return reconcile.Result{Requeue: true}, nil
	}
	if apierrors.IsNotFound(err) {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, fmt.Errorf(format+": %w", append(args, err)...)
}

// Blocker returns the name of an allocated IP that deleting cidr would
// leave in no ServiceCIDR, or "" when it may go: every one of its ranges is
// held by another ServiceCIDR too, or no IP's only range is one of its.
func Blocker(cidr *networkingv1.ServiceCIDR, all []networkingv1.ServiceCIDR, ips []networkingv1.IPAddress) string {
	parented := true
	var own []netip.Prefix
	for _, s := range cidr.Spec.CIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		own = append(own, p.Masked())
		if !containedElsewhere(cidr.Name, p.Masked(), all) {
			parented = false
		}
	}
	if parented {
		return ""
	}
	for _, ip := range ips {
		addr, err := netip.ParseAddr(ip.Name)
		if err != nil || !inAny(addr, own) {
			continue
		}
		if family := ip.Labels[networkingv1.LabelIPAddressFamily]; family != "" && family != string(familyOf(addr)) {
			continue
		}
		holders := 0
		for _, other := range all {
			if other.Name == cidr.Name {
				continue
			}
			if inAny(addr, prefixes(other.Spec.CIDRs)) {
				holders++
			}
		}
		if holders == 0 {
			return ip.Name
		}
	}
	return ""
}

func containedElsewhere(self string, p netip.Prefix, all []networkingv1.ServiceCIDR) bool {
	for _, other := range all {
		if other.Name == self {
			continue
		}
		for _, q := range prefixes(other.Spec.CIDRs) {
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				return true
			}
		}
	}
	return false
}

func prefixes(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

func inAny(addr netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func familyOf(addr netip.Addr) corev1.IPFamily {
	if addr.Unmap().Is4() {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}
