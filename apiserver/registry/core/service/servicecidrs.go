package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	netutils "k8s.io/utils/net"
)

// ServiceCIDRs is what allocation needs of the servicecidrs storage: the
// ranges users add beside --service-cluster-ip-range.
type ServiceCIDRs interface {
	rest.Lister
}

// ServiceCIDRReady reports whether cidr may hand out IPs: it is not being
// deleted, and its Ready condition is true or (no controller has looked at
// it yet, as upstream assumes) missing.
func ServiceCIDRReady(cidr *networkingv1.ServiceCIDR) bool {
	if cidr == nil || cidr.DeletionTimestamp != nil {
		return false
	}
	for _, c := range cidr.Status.Conditions {
		if c.Type == networkingv1.ServiceCIDRConditionReady {
			return c.Status == metav1.ConditionTrue
		}
	}
	return true
}

// extraRanges returns the ranges of family f of the ready ServiceCIDRs,
// beyond def (the flag's range, which is always allocatable), ordered by
// ServiceCIDR name so that allocation is deterministic. Read from storage
// on each call: it is consulted only when the flag's range cannot serve
// the request, and a fresh read sees a deletion at once.
func (a *Allocators) extraRanges(ctx context.Context, f corev1.IPFamily, def *IPAllocator) ([]*IPAllocator, error) {
	if a.serviceCIDRs == nil {
		return nil, nil
	}
	store := a.serviceCIDRs()
	if store == nil {
		return nil, nil
	}
	obj, err := store.List(clusterScoped(ctx), &metainternalversion.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list ServiceCIDRs: %w", err)
	}
	list, ok := obj.(*networkingv1.ServiceCIDRList)
	if !ok {
		return nil, fmt.Errorf("list ServiceCIDRs: unexpected %T", obj)
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	seen := map[string]bool{}
	if def != nil {
		seen[def.CIDR().String()] = true
	}
	var out []*IPAllocator
	for i := range items {
		if !ServiceCIDRReady(&items[i]) {
			continue
		}
		for _, s := range items[i].Spec.CIDRs {
			_, cidr, err := netutils.ParseCIDRSloppy(s)
			if err != nil || seen[cidr.String()] {
				continue
			}
			if familyOfNet(cidr) != f {
				continue
			}
			seen[cidr.String()] = true
			out = append(out, NewIPAllocator(cidr, a.ipStore))
		}
	}
	return out, nil
}

func familyOfNet(n *net.IPNet) corev1.IPFamily {
	if netutils.IsIPv6CIDR(n) {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// allocateIP reserves ip for svc from the flag's range of its family when
// it holds ip, else from a ready ServiceCIDR that does.
func (a *Allocators) allocateIP(ctx context.Context, def *IPAllocator, ip net.IP, svc *corev1.Service, dryRun bool) error {
	if def.CIDR().Contains(ip) {
		return def.allocate(ctx, ip, svc, dryRun)
	}
	extra, err := a.extraRanges(ctx, def.Family(), def)
	if err != nil {
		return err
	}
	for _, r := range extra {
		if r.CIDR().Contains(ip) {
			return r.allocate(ctx, ip, svc, dryRun)
		}
	}
	return errMismatchedNetwork
}

// allocateNextIP reserves a free IP for svc: from the flag's range of its
// family first, then, when that is full, from the ready ServiceCIDRs of
// that family in name order.
func (a *Allocators) allocateNextIP(ctx context.Context, def *IPAllocator, svc *corev1.Service, dryRun bool) (net.IP, error) {
	ip, err := def.allocateNext(ctx, svc, dryRun)
	if !errors.Is(err, errIPsFull) {
		return ip, err
	}
	extra, lerr := a.extraRanges(ctx, def.Family(), def)
	if lerr != nil {
		return nil, lerr
	}
	for _, r := range extra {
		ip, err = r.allocateNext(ctx, svc, dryRun)
		if !errors.Is(err, errIPsFull) {
			return ip, err
		}
	}
	return nil, errIPsFull
}
