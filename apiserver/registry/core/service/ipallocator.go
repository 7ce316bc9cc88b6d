package service

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	netutils "k8s.io/utils/net"
)

// Labels upstream's allocator puts on the IPAddresses it creates.
const (
	labelIPFamily  = "ipaddress.kubernetes.io/ip-family"
	labelManagedBy = "ipaddress.kubernetes.io/managed-by"
	managedBy      = "ipallocator.k8s.io"
)

var (
	errIPAllocated = errors.New("provided IP is already allocated")
	errIPsFull     = errors.New("range is full")
	// errMismatchedNetwork: no ready ServiceCIDR holds the requested IP.
	errMismatchedNetwork = errors.New("the provided network does not match the current range")
	// errNoIPAddresses: the networking.k8s.io ipaddresses resource, where
	// allocations are recorded, is turned off (--runtime-config).
	errNoIPAddresses = errors.New("ClusterIP allocation needs networking.k8s.io/v1 ipaddresses, which is not served")
)

// IPAddresses is what the IP allocator needs of the ipaddresses storage.
type IPAddresses interface {
	rest.Creater
	rest.GracefulDeleter
}

// IPAllocator hands out Service ClusterIPs from one CIDR. Each allocated IP
// is an IPAddress object named by the IP: creating it is the allocation,
// and etcd refuses a second create of the same name.
type IPAllocator struct {
	cidr   *net.IPNet
	family corev1.IPFamily
	base   *big.Int
	size   int64 // usable addresses, counted from base
	// offset splits the range as upstream does: dynamic allocation takes
	// addresses from [offset, size) first, leaving the lower band to
	// clients that ask for a specific IP.
	offset int64

	mu    sync.Mutex
	store func() IPAddresses
}

// NewIPAllocator allocates from cidr, through the IPAddress storage that
// store returns (resolved late: the networking group is built after core).
func NewIPAllocator(cidr *net.IPNet, store func() IPAddresses) *IPAllocator {
	family := corev1.IPv4Protocol
	if netutils.IsIPv6CIDR(cidr) {
		family = corev1.IPv6Protocol
	}
	ones, bits := cidr.Mask.Size()
	total := new(big.Int).Lsh(big.NewInt(1), uint(bits-ones))
	// Skip the network address; for IPv4 the broadcast address too.
	size := new(big.Int).Sub(total, big.NewInt(1))
	if family == corev1.IPv4Protocol {
		size.Sub(size, big.NewInt(1))
	}
	if !size.IsInt64() || size.Int64() > 1<<24 {
		size = big.NewInt(1 << 24)
	}
	n := size.Int64()
	if n < 0 {
		n = 0
	}
	offset := min(max(int64(16), n/16), 256)
	if offset >= n {
		offset = 0
	}
	base := new(big.Int).Add(new(big.Int).SetBytes(normalize(cidr.IP)), big.NewInt(1))
	return &IPAllocator{cidr: cidr, family: family, base: base, size: n, offset: offset, store: store}
}

// Family returns the allocator's IP family.
func (a *IPAllocator) Family() corev1.IPFamily { return a.family }

// CIDR returns the allocator's range.
func (a *IPAllocator) CIDR() *net.IPNet { return a.cidr }

// First returns the first usable address, the `kubernetes` Service's.
func (a *IPAllocator) First() net.IP { return a.at(0) }

func (a *IPAllocator) at(i int64) net.IP {
	n := new(big.Int).Add(a.base, big.NewInt(i))
	b := n.Bytes()
	width := 4
	if a.family == corev1.IPv6Protocol {
		width = 16
	}
	ip := make(net.IP, width)
	copy(ip[width-len(b):], b)
	return ip
}

func (a *IPAllocator) index(ip net.IP) (int64, bool) {
	if !a.cidr.Contains(ip) {
		return 0, false
	}
	i := new(big.Int).Sub(new(big.Int).SetBytes(normalize(ip)), a.base)
	if i.Sign() < 0 || !i.IsInt64() || i.Int64() >= a.size {
		return 0, false
	}
	return i.Int64(), true
}

func normalize(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip.To16()
}

// Allocate reserves ip for svc.
func (a *IPAllocator) Allocate(ctx context.Context, ip net.IP, svc *corev1.Service) error {
	return a.allocate(ctx, ip, svc, false)
}

// allocate reserves ip for svc; a dry run only checks that ip is in the
// range, as upstream's dry-run allocator does.
func (a *IPAllocator) allocate(ctx context.Context, ip net.IP, svc *corev1.Service, dryRun bool) error {
	if _, ok := a.index(ip); !ok {
		return fmt.Errorf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, a.cidr)
	}
	if dryRun {
		return nil
	}
	return a.create(ctx, ip, svc)
}

// AllocateNext reserves a free IP for svc: a random one of the dynamic
// band, or else the first free one of the static band.
func (a *IPAllocator) AllocateNext(ctx context.Context, svc *corev1.Service) (net.IP, error) {
	return a.allocateNext(ctx, svc, false)
}

// allocateNext is AllocateNext; a dry run reserves nothing and answers
// the range's network address, as upstream's dry-run allocator does (it
// does not look for a free address: that would be racy and worthless).
func (a *IPAllocator) allocateNext(ctx context.Context, svc *corev1.Service, dryRun bool) (net.IP, error) {
	if dryRun {
		if a.size <= 0 {
			return nil, errIPsFull
		}
		return normalize(a.cidr.IP), nil
	}
	try := func(from, to int64) (net.IP, error) {
		n := to - from
		if n <= 0 {
			return nil, errIPsFull
		}
		start := rand.Int64N(n)
		for k := int64(0); k < n; k++ {
			ip := a.at(from + (start+k)%n)
			err := a.create(ctx, ip, svc)
			if err == nil {
				return ip, nil
			}
			if !errors.Is(err, errIPAllocated) {
				return nil, err
			}
		}
		return nil, errIPsFull
	}
	ip, err := try(a.offset, a.size)
	if errors.Is(err, errIPsFull) {
		ip, err = try(0, a.offset)
	}
	return ip, err
}

// Release frees ip; releasing a free IP is not an error.
func (a *IPAllocator) Release(ctx context.Context, ip net.IP) error {
	if _, ok := a.index(ip); !ok {
		return nil
	}
	return releaseIP(ctx, a.store, ip)
}

// releaseIP deletes ip's IPAddress, whichever ServiceCIDR it came from
// (one may have been deleted since); a missing one is not an error.
func releaseIP(ctx context.Context, store func() IPAddresses, ip net.IP) error {
	s := store()
	if s == nil {
		return errNoIPAddresses
	}
	_, _, err := s.Delete(clusterScoped(ctx), ip.String(), rest.ValidateAllObjectFunc, &metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("release IP %s: %w", ip, err)
	}
	return nil
}

func (a *IPAllocator) create(ctx context.Context, ip net.IP, svc *corev1.Service) error {
	addr := &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{
			Name:   ip.String(),
			Labels: map[string]string{labelIPFamily: string(a.family), labelManagedBy: managedBy},
		},
		Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{
			Group: "", Resource: "services", Namespace: svc.Namespace, Name: svc.Name,
		}},
	}
	store := a.store()
	if store == nil {
		return errNoIPAddresses
	}
	_, err := store.Create(clusterScoped(ctx), addr, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return errIPAllocated
	}
	if err != nil {
		return fmt.Errorf("record IP %s: %w", ip, err)
	}
	return nil
}

// clusterScoped drops the request's namespace: IPAddresses are cluster
// objects, while the request that allocates is a namespaced one.
func clusterScoped(ctx context.Context) context.Context {
	return genericapirequest.WithNamespace(ctx, metav1.NamespaceNone)
}
