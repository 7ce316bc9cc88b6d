package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
)

// ErrFull is returned when a range has no free subnet.
var ErrFull = errors.New("CIDR range is full")

// maxSubnetBits bounds a range to 2^16 subnets, as upstream's cidrset.
const maxSubnetBits = 16

// cidrSet hands out the subnets of one cluster CIDR.
type cidrSet struct {
	mu      sync.Mutex
	cluster *net.IPNet
	bits    int // address length: 32 or 128
	mask    int // subnet prefix length
	count   int // number of subnets
	used    []bool
	next    int // where the next search starts (round robin, as upstream)
	inUse   int
}

// newCIDRSet makes the set of /mask subnets of cluster.
func newCIDRSet(cluster *net.IPNet, mask int) (*cidrSet, error) {
	ones, bits := cluster.Mask.Size()
	if mask < ones || mask > bits {
		return nil, fmt.Errorf("node CIDR mask size /%d does not fit cluster CIDR %s", mask, cluster)
	}
	if mask-ones > maxSubnetBits {
		return nil, fmt.Errorf("cluster CIDR %s has too many /%d subnets (mask size may be at most %d more than the cluster prefix)", cluster, mask, maxSubnetBits)
	}
	n := 1 << (mask - ones)
	base := &net.IPNet{IP: cluster.IP.Mask(cluster.Mask), Mask: cluster.Mask}
	return &cidrSet{cluster: base, bits: bits, mask: mask, count: n, used: make([]bool, n)}, nil
}

// subnet is the i-th subnet.
func (s *cidrSet) subnet(i int) *net.IPNet {
	ip := new(big.Int).SetBytes(s.cluster.IP.To16()[16-s.bits/8:])
	ip.Add(ip, new(big.Int).Lsh(big.NewInt(int64(i)), uint(s.bits-s.mask)))
	b := ip.Bytes()
	out := make(net.IP, s.bits/8)
	copy(out[len(out)-len(b):], b)
	return &net.IPNet{IP: out, Mask: net.CIDRMask(s.mask, s.bits)}
}

// index is the subnet number of cidr, or an error when cidr is not one of
// the set's subnets.
func (s *cidrSet) index(cidr *net.IPNet) (int, error) {
	ones, bits := cidr.Mask.Size()
	if bits != s.bits || ones != s.mask || !s.cluster.Contains(cidr.IP) {
		return 0, fmt.Errorf("%s is not a /%d subnet of %s", cidr, s.mask, s.cluster)
	}
	off := new(big.Int).Sub(new(big.Int).SetBytes(cidr.IP.To16()[16-s.bits/8:]), new(big.Int).SetBytes(s.cluster.IP.To16()[16-s.bits/8:]))
	return int(off.Rsh(off, uint(s.bits-s.mask)).Int64()), nil
}

// allocateNext takes the next free subnet.
func (s *cidrSet) allocateNext() (*net.IPNet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse == s.count {
		return nil, fmt.Errorf("%w: %s", ErrFull, s.cluster)
	}
	for k := 0; k < s.count; k++ {
		i := (s.next + k) % s.count
		if !s.used[i] {
			s.used[i] = true
			s.inUse++
			s.next = (i + 1) % s.count
			return s.subnet(i), nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrFull, s.cluster)
}

// occupy marks cidr used (it was handed out before).
func (s *cidrSet) occupy(cidr *net.IPNet) error {
	i, err := s.index(cidr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.used[i] {
		s.used[i] = true
		s.inUse++
	}
	return nil
}

// release frees cidr.
func (s *cidrSet) release(cidr *net.IPNet) error {
	i, err := s.index(cidr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[i] {
		s.used[i] = false
		s.inUse--
	}
	return nil
}

// contains reports whether cidr lies in the set's range.
func (s *cidrSet) contains(cidr *net.IPNet) bool {
	ones, bits := cidr.Mask.Size()
	return bits == s.bits && ones >= s.mask && s.cluster.Contains(cidr.IP)
}
