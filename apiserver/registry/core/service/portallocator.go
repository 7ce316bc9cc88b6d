package service

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/storage"
)

// nodePortKey is where kube-apiserver keeps its NodePort bitmap, relative
// to the storage prefix.
const nodePortKey = "/ranges/servicenodeports"

// Errors of the port allocator, worded as upstream's.
var (
	errPortAllocated = errors.New("provided port is already allocated")
	errPortsFull     = errors.New("range is full")
)

// PortAllocator hands out NodePorts from a range, recording them in a
// RangeAllocation whose data is a bitmap (bit i is port base+i), updated
// with compare-and-swap so that API servers sharing etcd never hand out a
// port twice.
type PortAllocator struct {
	pr      net.PortRange
	storage storage.Interface
}

// NewPortAllocator allocates from pr, storing in s.
func NewPortAllocator(pr net.PortRange, s storage.Interface) *PortAllocator {
	return &PortAllocator{pr: pr, storage: s}
}

// Range returns the allocator's range.
func (a *PortAllocator) Range() net.PortRange { return a.pr }

func (a *PortAllocator) rangeError(port int) error {
	return fmt.Errorf("provided port is not in the valid range. The range of valid ports is %s", a.pr.String())
}

// Allocate reserves port.
func (a *PortAllocator) Allocate(ctx context.Context, port int) error {
	if !a.pr.Contains(port) {
		return a.rangeError(port)
	}
	return a.update(ctx, func(bits *big.Int) error {
		i := port - a.pr.Base
		if bits.Bit(i) == 1 {
			return errPortAllocated
		}
		bits.SetBit(bits, i, 1)
		return nil
	})
}

// check reports, without reserving anything, why port could not be
// allocated now: out of range, or already allocated (a dry run's check).
func (a *PortAllocator) check(ctx context.Context, port int) error {
	if !a.pr.Contains(port) {
		return a.rangeError(port)
	}
	ra := &corev1.RangeAllocation{}
	if err := a.storage.Get(ctx, nodePortKey, storage.GetOptions{IgnoreNotFound: true}, ra); err != nil {
		return apierrors.NewInternalError(fmt.Errorf("read node port allocation: %w", err))
	}
	if new(big.Int).SetBytes(ra.Data).Bit(port-a.pr.Base) == 1 {
		return errPortAllocated
	}
	return nil
}

// AllocateNext reserves a free port, chosen at random.
func (a *PortAllocator) AllocateNext(ctx context.Context) (int, error) {
	var port int
	err := a.update(ctx, func(bits *big.Int) error {
		start := rand.IntN(a.pr.Size)
		for n := 0; n < a.pr.Size; n++ {
			i := (start + n) % a.pr.Size
			if bits.Bit(i) == 0 {
				bits.SetBit(bits, i, 1)
				port = a.pr.Base + i
				return nil
			}
		}
		return errPortsFull
	})
	return port, err
}

// Release frees port; releasing a free port is not an error.
func (a *PortAllocator) Release(ctx context.Context, port int) error {
	if !a.pr.Contains(port) {
		return nil
	}
	return a.update(ctx, func(bits *big.Int) error {
		bits.SetBit(bits, port-a.pr.Base, 0)
		return nil
	})
}

// update applies change to the stored bitmap, creating it when missing.
func (a *PortAllocator) update(ctx context.Context, change func(*big.Int) error) error {
	var changeErr error
	err := a.storage.GuaranteedUpdate(ctx, nodePortKey, &corev1.RangeAllocation{}, true, nil,
		storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
			ra := obj.(*corev1.RangeAllocation)
			bits := new(big.Int).SetBytes(ra.Data)
			if changeErr = change(bits); changeErr != nil {
				return nil, changeErr
			}
			ra.Range = a.pr.String()
			ra.Data = bits.Bytes()
			return ra, nil
		}), nil)
	if changeErr != nil {
		return changeErr
	}
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("update node port allocation: %w", err))
	}
	return nil
}
