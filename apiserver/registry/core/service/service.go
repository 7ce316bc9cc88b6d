package service

import (
	"context"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/util/dryrun"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/registry"
	corevalidation "github.com/skiff-dev/skiff/apiserver/validation/core"
)

// Config is what Service storage needs of the server.
type Config struct {
	// ClusterIPRanges are --service-cluster-ip-range's CIDRs, primary first.
	ClusterIPRanges []*net.IPNet
	// NodePortRange is --service-node-port-range.
	NodePortRange utilnet.PortRange
	// IPAddresses returns the ipaddresses storage once it is built.
	IPAddresses func() IPAddresses
	// ServiceCIDRs returns the servicecidrs storage once it is built (nil:
	// only the flag's ranges are allocatable).
	ServiceCIDRs func() ServiceCIDRs
}

// Allocators are the ClusterIP allocators, one per family (primary first),
// and the NodePort allocator.
type Allocators struct {
	IPs   []*IPAllocator
	Ports *PortAllocator

	ipStore      func() IPAddresses
	serviceCIDRs func() ServiceCIDRs
}

// byFamily returns the allocator of family f, or nil.
func (a *Allocators) byFamily(f corev1.IPFamily) *IPAllocator {
	for _, ip := range a.IPs {
		if ip.Family() == f {
			return ip
		}
	}
	return nil
}

// Definition declares services; allocs receives the allocators once the
// storage is built (the bootstrap controller uses them for the
// `kubernetes` Service).
func Definition(c Config, tables rest.TableConvertor, allocs *Allocators) *registry.Definition[*corev1.Service] {
	for _, cidr := range c.ClusterIPRanges {
		allocs.IPs = append(allocs.IPs, NewIPAllocator(cidr, c.IPAddresses))
	}
	allocs.ipStore, allocs.serviceCIDRs = c.IPAddresses, c.ServiceCIDRs
	return &registry.Definition[*corev1.Service]{
		GroupVersion: corev1.SchemeGroupVersion,
		Resource:     "services", Singular: "service", Kind: "Service", Namespaced: true,
		ShortNames: []string{"svc"}, Categories: []string{"all"},
		New:            func() *corev1.Service { return &corev1.Service{} },
		NewList:        func() runtime.Object { return &corev1.ServiceList{} },
		Validate:       corevalidation.ValidateService,
		ValidateUpdate: corevalidation.ValidateServiceUpdate,
		Status:         &registry.Status[*corev1.Service]{ValidateUpdate: corevalidation.ValidateServiceStatusUpdate},
		Fields: func(s *corev1.Service) fields.Set {
			return fields.Set{"spec.clusterIP": s.Spec.ClusterIP, "spec.type": string(s.Spec.Type)}
		},
		FieldLabels:    []string{"spec.clusterIP", "spec.type"},
		TableConvertor: tables,
		Extend: func(main *registry.REST, storages map[string]rest.Storage) error {
			opts, err := main.Options.GetRESTOptions(corev1.Resource("servicenodeportallocations"), &corev1.RangeAllocation{})
			if err != nil {
				return fmt.Errorf("node port allocation storage: %w", err)
			}
			s, destroy, err := generic.NewRawStorage(opts.StorageConfig, nil, nil, nodePortKey)
			if err != nil {
				return fmt.Errorf("node port allocation storage: %w", err)
			}
			// The allocation storage's etcd client closes with the Service
			// storage's, or it would keep etcd from stopping promptly.
			destroyMain := main.Store.DestroyFunc
			main.Store.DestroyFunc = func() {
				destroy()
				if destroyMain != nil {
					destroyMain()
				}
			}
			allocs.Ports = NewPortAllocator(c.NodePortRange, s)
			h := &hooks{allocs: allocs}
			main.Store.BeginCreate = h.beginCreate
			main.Store.BeginUpdate = h.beginUpdate
			main.Store.AfterDelete = h.afterDelete
			return nil
		},
	}
}

type hooks struct {
	allocs *Allocators
}

// release undoes allocations when a write fails.
type release struct {
	ips   []net.IP
	ports []int
}

func (h *hooks) undo(ctx context.Context, r *release) {
	for _, ip := range r.ips {
		if h.allocs.ipStore == nil {
			break
		}
		if err := releaseIP(ctx, h.allocs.ipStore, ip); err != nil {
			klog.FromContext(ctx).Error(err, "Releasing a ClusterIP failed", "ip", ip)
		}
	}
	for _, p := range r.ports {
		if err := h.allocs.Ports.Release(ctx, p); err != nil {
			klog.FromContext(ctx).Error(err, "Releasing a NodePort failed", "port", p)
		}
	}
}

// allocate gives svc the IPs and ports it needs beyond old's (nil on
// create), returning what it took; on failure it releases that itself. A
// dry run fills in what a real one would (as upstream: the range's
// network address for a dynamic ClusterIP, unused-looking ports from 32769
// for dynamic NodePorts), checks requested ports against the allocation,
// and reserves nothing.
func (h *hooks) allocate(ctx context.Context, svc, old *corev1.Service, dryRun bool) (*release, error) {
	got := &release{}
	if err := h.allocateIPs(ctx, svc, old, got, dryRun); err != nil {
		if !dryRun {
			h.undo(ctx, got)
		}
		return nil, err
	}
	if err := h.allocatePorts(ctx, svc, old, got, dryRun); err != nil {
		if !dryRun {
			h.undo(ctx, got)
		}
		return nil, err
	}
	if dryRun {
		return &release{}, nil
	}
	return got, nil
}

func (h *hooks) beginCreate(ctx context.Context, obj runtime.Object, options *metav1.CreateOptions) (genericregistry.FinishFunc, error) {
	svc := obj.(*corev1.Service)
	if err := h.defaultFamilies(svc); err != nil {
		return nil, err
	}
	if dryrun.IsDryRun(options.DryRun) {
		if _, err := h.allocate(ctx, svc, nil, true); err != nil {
			return nil, err
		}
		return func(context.Context, bool) {}, nil
	}
	got, err := h.allocate(ctx, svc, nil, false)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, success bool) {
		if !success {
			h.undo(ctx, got)
		}
	}, nil
}

func (h *hooks) beginUpdate(ctx context.Context, obj, oldObj runtime.Object, options *metav1.UpdateOptions) (genericregistry.FinishFunc, error) {
	svc, old := obj.(*corev1.Service), oldObj.(*corev1.Service)
	carryOver(svc, old)
	if err := h.defaultFamilies(svc); err != nil {
		return nil, err
	}
	if dryrun.IsDryRun(options.DryRun) {
		if _, err := h.allocate(ctx, svc, old, true); err != nil {
			return nil, err
		}
		return func(context.Context, bool) {}, nil
	}
	got, err := h.allocate(ctx, svc, old, false)
	if err != nil {
		return nil, err
	}
	// What old held and svc no longer does is released once the update
	// is stored.
	freed := &release{}
	kept := map[string]bool{}
	for _, ip := range svc.Spec.ClusterIPs {
		kept[ip] = true
	}
	for _, ip := range allocatedIPs(old) {
		if !kept[ip.String()] {
			freed.ips = append(freed.ips, ip)
		}
	}
	keptPorts := map[int]bool{}
	for _, p := range nodePorts(svc) {
		keptPorts[p] = true
	}
	for _, p := range nodePorts(old) {
		if !keptPorts[p] {
			freed.ports = append(freed.ports, p)
		}
	}
	return func(ctx context.Context, success bool) {
		if success {
			h.undo(ctx, freed)
		} else {
			h.undo(ctx, got)
		}
	}, nil
}

func (h *hooks) afterDelete(obj runtime.Object, options *metav1.DeleteOptions) {
	svc, ok := obj.(*corev1.Service)
	if !ok || dryrun.IsDryRun(options.DryRun) {
		return
	}
	h.undo(context.Background(), &release{ips: allocatedIPs(svc), ports: nodePorts(svc)})
}

// carryOver keeps, in an update that leaves them out, the IPs and ports
// old was given, as upstream does, so that re-applying a manifest without
// them changes nothing.
func carryOver(svc, old *corev1.Service) {
	if needsClusterIP(svc) && needsClusterIP(old) && svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
		if len(svc.Spec.IPFamilies) == 0 {
			svc.Spec.IPFamilies = old.Spec.IPFamilies
		}
		if svc.Spec.IPFamilyPolicy == nil {
			svc.Spec.IPFamilyPolicy = old.Spec.IPFamilyPolicy
		}
	}
	if needsNodePorts(svc) && needsNodePorts(old) {
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort != 0 {
				continue
			}
			for _, o := range old.Spec.Ports {
				if o.Port == p.Port && o.Protocol == p.Protocol && o.NodePort != 0 {
					p.NodePort = o.NodePort
					break
				}
			}
		}
	}
	if !needsNodePorts(svc) {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	}
	if needsHealthCheck(svc) && needsHealthCheck(old) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
	if !needsHealthCheck(svc) && needsHealthCheck(old) && svc.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		svc.Spec.HealthCheckNodePort = 0
	}
}

// defaultFamilies sets ipFamilyPolicy, ipFamilies and clusterIPs as
// upstream does from the cluster's ranges, rejecting what the cluster
// cannot serve.
func (h *hooks) defaultFamilies(svc *corev1.Service) error {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		spec.IPFamilyPolicy, spec.IPFamilies = nil, nil
		return nil
	}
	if len(spec.ClusterIPs) == 0 && spec.ClusterIP != "" {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
	headless := spec.ClusterIP == corev1.ClusterIPNone
	dualStackCluster := len(h.allocs.IPs) > 1
	var errs field.ErrorList
	if spec.IPFamilyPolicy == nil {
		policy := corev1.IPFamilyPolicySingleStack
		if len(spec.ClusterIPs) > 1 || len(spec.IPFamilies) > 1 || (headless && len(spec.Selector) == 0 && dualStackCluster) {
			policy = corev1.IPFamilyPolicyRequireDualStack
		}
		spec.IPFamilyPolicy = &policy
	}
	policy := *spec.IPFamilyPolicy
	if policy == corev1.IPFamilyPolicyRequireDualStack && !dualStackCluster {
		errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), policy, "this cluster is not configured for dual-stack services"))
	}
	// Families named by the client's IPs come first.
	if len(spec.IPFamilies) == 0 {
		for _, s := range spec.ClusterIPs {
			if ip := netutils.ParseIPSloppy(s); ip != nil {
				spec.IPFamilies = append(spec.IPFamilies, familyOf(ip))
			}
		}
	}
	if len(spec.IPFamilies) == 0 && len(h.allocs.IPs) > 0 {
		spec.IPFamilies = []corev1.IPFamily{h.allocs.IPs[0].Family()}
	}
	if policy != corev1.IPFamilyPolicySingleStack && dualStackCluster && len(spec.IPFamilies) == 1 {
		for _, a := range h.allocs.IPs {
			if a.Family() != spec.IPFamilies[0] {
				spec.IPFamilies = append(spec.IPFamilies, a.Family())
				break
			}
		}
	}
	for i, f := range spec.IPFamilies {
		if h.allocs.byFamily(f) == nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilies").Index(i), f, "not configured on this cluster"))
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
	}
	return nil
}

// allocateIPs gives svc a ClusterIP of each of its families that it has
// none of yet (old's are already its own), recording new ones in got.
func (h *hooks) allocateIPs(ctx context.Context, svc, old *corev1.Service, got *release, dryRun bool) error {
	if !needsClusterIP(svc) {
		return nil
	}
	owned := map[string]bool{}
	if old != nil {
		for _, ip := range allocatedIPs(old) {
			owned[ip.String()] = true
		}
	}
	ips := make([]string, len(svc.Spec.IPFamilies))
	copy(ips, svc.Spec.ClusterIPs)
	path := field.NewPath("spec", "clusterIPs")
	invalid := func(msg string) error {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name,
			field.ErrorList{field.Invalid(path, svc.Spec.ClusterIPs, msg)})
	}
	for i, family := range svc.Spec.IPFamilies {
		a := h.allocs.byFamily(family)
		if a == nil {
			continue
		}
		if ips[i] != "" {
			ip := netutils.ParseIPSloppy(ips[i])
			if ip == nil || owned[ip.String()] {
				continue // validation reports a malformed IP
			}
			if err := h.allocs.allocateIP(ctx, a, ip, svc, dryRun); err != nil {
				return invalid(fmt.Sprintf("failed to allocate IP %v: %v", ips[i], err))
			}
			got.ips = append(got.ips, ip)
			continue
		}
		ip, err := h.allocs.allocateNextIP(ctx, a, svc, dryRun)
		if err != nil {
			return invalid(fmt.Sprintf("failed to allocate a serviceIP: %v", err))
		}
		got.ips = append(got.ips, ip)
		ips[i] = ip.String()
	}
	svc.Spec.ClusterIPs = ips
	if len(ips) > 0 {
		svc.Spec.ClusterIP = ips[0]
	}
	return nil
}

// allocatePorts gives every port of svc that needs one a NodePort, and svc
// its health-check port, recording new ones in got.
func (h *hooks) allocatePorts(ctx context.Context, svc, old *corev1.Service, got *release, dryRun bool) error {
	owned := map[int]bool{}
	if old != nil {
		for _, p := range nodePorts(old) {
			owned[p] = true
		}
	}
	invalid := func(path *field.Path, value any, err error) error {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name,
			field.ErrorList{field.Invalid(path, value, err.Error())})
	}
	take := func(port int32, path *field.Path) (int32, error) {
		if port != 0 {
			if owned[int(port)] {
				return port, nil
			}
			if dryRun {
				if err := h.allocs.Ports.check(ctx, int(port)); err != nil {
					return 0, invalid(path, port, err)
				}
				owned[int(port)] = true
				got.ports = append(got.ports, int(port))
				return port, nil
			}
			if err := h.allocs.Ports.Allocate(ctx, int(port)); err != nil {
				return 0, invalid(path, port, err)
			}
			owned[int(port)] = true
			got.ports = append(got.ports, int(port))
			return port, nil
		}
		if dryRun {
			// Upstream's dummy: one past the highest port this request
			// took, starting at 32769; nothing is looked up.
			last := 32768
			for _, p := range got.ports {
				last = max(last, p)
			}
			got.ports = append(got.ports, last+1)
			owned[last+1] = true
			return int32(last + 1), nil
		}
		p, err := h.allocs.Ports.AllocateNext(ctx)
		if err != nil {
			return 0, invalid(path, port, fmt.Errorf("failed to allocate a nodePort: %w", err))
		}
		owned[p] = true
		got.ports = append(got.ports, p)
		return int32(p), nil
	}
	if needsNodePorts(svc) {
		// Ports that share a port number (TCP and UDP of one port) may
		// share a node port.
		byPort := map[int32]int32{}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort == 0 {
				if shared, ok := byPort[p.Port]; ok {
					p.NodePort = shared
					continue
				}
			}
			n, err := take(p.NodePort, field.NewPath("spec", "ports").Index(i).Child("nodePort"))
			if err != nil {
				return err
			}
			p.NodePort = n
			byPort[p.Port] = n
		}
	}
	if needsHealthCheck(svc) {
		n, err := take(svc.Spec.HealthCheckNodePort, field.NewPath("spec", "healthCheckNodePort"))
		if err != nil {
			return err
		}
		svc.Spec.HealthCheckNodePort = n
	}
	return nil
}

func familyOf(ip net.IP) corev1.IPFamily {
	if ip.To4() != nil {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

func needsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

func needsHealthCheck(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// allocatedIPs returns the ClusterIPs svc holds.
func allocatedIPs(svc *corev1.Service) []net.IP {
	if !needsClusterIP(svc) {
		return nil
	}
	var out []net.IP
	for _, s := range svc.Spec.ClusterIPs {
		if ip := netutils.ParseIPSloppy(s); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}

// nodePorts returns the node ports svc holds, its health-check port too.
func nodePorts(svc *corev1.Service) []int {
	var out []int
	seen := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !seen[p.NodePort] {
			seen[p.NodePort] = true
			out = append(out, int(p.NodePort))
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 && !seen[svc.Spec.HealthCheckNodePort] {
		out = append(out, int(svc.Spec.HealthCheckNodePort))
	}
	return out
}
