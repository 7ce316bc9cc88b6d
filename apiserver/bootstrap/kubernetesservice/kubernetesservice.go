package kubernetesservice

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Name is the name of the Service, its Endpoints, EndpointSlice and the
// default ServiceCIDR.
const Name = "kubernetes"

// Config says what the objects hold.
type Config struct {
	// CIDRs are the service IP ranges, primary first.
	CIDRs []*net.IPNet
	// ClusterIP is the Service's IP: the first of the primary range.
	ClusterIP net.IP
	// Address and Port are where this API server serves.
	Address net.IP
	Port    int32
}

// Run ensures the objects, retrying for up to ten seconds so that they
// usually exist when the server reports ready, then again every interval
// until ctx ends, so that a deleted or edited one comes back. It fails only
// if ctx ends first.
func Run(ctx context.Context, client kubernetes.Interface, c Config, interval time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := Ensure(ctx, client, c); err != nil {
			klog.FromContext(ctx).V(1).Info("Ensuring the kubernetes Service failed, retrying", "err", err)
			return false, nil
		}
		return true, nil
	})
	if ctx.Err() != nil {
		return fmt.Errorf("ensure the kubernetes Service: %w", ctx.Err())
	}
	if err != nil {
		klog.FromContext(ctx).Error(err, "The kubernetes Service is not in place yet; retrying in the background")
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := Ensure(ctx, client, c); err != nil {
			klog.FromContext(ctx).Error(err, "Ensuring the kubernetes Service failed")
		}
	}, interval)
	return nil
}

// Ensure creates or repairs the objects once. A loopback address (a
// server only its own host reaches, as under envtest) cannot be an
// endpoint — validation refuses it — so then the Service has none.
func Ensure(ctx context.Context, client kubernetes.Interface, c Config) error {
	steps := []func(context.Context, kubernetes.Interface, Config) error{ensureServiceCIDR, ensureService}
	if !c.Address.IsLoopback() {
		steps = append(steps, ensureEndpoints, ensureEndpointSlice)
	}
	for _, step := range steps {
		if err := step(ctx, client, c); err != nil {
			return err
		}
	}
	return nil
}

func ensureServiceCIDR(ctx context.Context, client kubernetes.Interface, c Config) error {
	cidrs := make([]string, len(c.CIDRs))
	for i, n := range c.CIDRs {
		cidrs[i] = n.String()
	}
	api := client.NetworkingV1().ServiceCIDRs()
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		got, err = api.Create(ctx, &networkingv1.ServiceCIDR{
			ObjectMeta: metav1.ObjectMeta{Name: Name},
			Spec:       networkingv1.ServiceCIDRSpec{CIDRs: cidrs},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("servicecidr %s: %w", Name, err)
	}
	for _, cond := range got.Status.Conditions {
		if cond.Type == networkingv1.ServiceCIDRConditionReady && cond.Status == metav1.ConditionTrue {
			return nil
		}
	}
	got.Status.Conditions = []metav1.Condition{{
		Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionTrue,
		Reason: "", Message: "Kubernetes default Service CIDR is ready", LastTransitionTime: metav1.Now(),
	}}
	if _, err := api.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("servicecidr %s status: %w", Name, err)
	}
	return nil
}

func servicePort(c Config) corev1.ServicePort {
	return corev1.ServicePort{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(c.Port)}
}

func ensureService(ctx context.Context, client kubernetes.Interface, c Config) error {
	api := client.CoreV1().Services(metav1.NamespaceDefault)
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
			Spec: corev1.ServiceSpec{
				Type:            corev1.ServiceTypeClusterIP,
				ClusterIP:       c.ClusterIP.String(),
				Ports:           []corev1.ServicePort{servicePort(c)},
				SessionAffinity: corev1.ServiceAffinityNone,
			},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("service %s: %w", Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", Name, err)
	}
	if want := []corev1.ServicePort{servicePort(c)}; !reflect.DeepEqual(got.Spec.Ports, want) {
		got.Spec.Ports = want
		if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("service %s ports: %w", Name, err)
		}
	}
	return nil
}

func ensureEndpoints(ctx context.Context, client kubernetes.Interface, c Config) error {
	want := []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: c.Address.String()}},
		Ports:     []corev1.EndpointPort{{Name: "https", Port: c.Port, Protocol: corev1.ProtocolTCP}},
	}}
	api := client.CoreV1().Endpoints(metav1.NamespaceDefault)
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &corev1.Endpoints{
			// The API server writes the EndpointSlice itself; the mirroring
			// controller leaves this one alone.
			ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: map[string]string{discoveryv1.LabelSkipMirror: "true"}},
			Subsets:    want,
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("endpoints %s: %w", Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("endpoints %s: %w", Name, err)
	}
	if !reflect.DeepEqual(got.Subsets, want) {
		got.Subsets = want
		if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("endpoints %s: %w", Name, err)
		}
	}
	return nil
}

func ensureEndpointSlice(ctx context.Context, client kubernetes.Interface, c Config) error {
	family := discoveryv1.AddressTypeIPv4
	if c.Address.To4() == nil {
		family = discoveryv1.AddressTypeIPv6
	}
	endpoints := []discoveryv1.Endpoint{{Addresses: []string{c.Address.String()}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
	ports := []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(c.Port), Protocol: ptr.To(corev1.ProtocolTCP)}}
	api := client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault)
	got, err := api.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: Name, Labels: map[string]string{discoveryv1.LabelServiceName: Name}},
			AddressType: family,
			Endpoints:   endpoints,
			Ports:       ports,
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("endpointslice %s: %w", Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("endpointslice %s: %w", Name, err)
	}
	if got.AddressType != family || !reflect.DeepEqual(got.Endpoints, endpoints) || !reflect.DeepEqual(got.Ports, ports) {
		if got.AddressType != family {
			// addressType is immutable: replace the slice.
			if err := api.Delete(ctx, Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("endpointslice %s: %w", Name, err)
			}
			return ensureEndpointSlice(ctx, client, c)
		}
		got.Endpoints, got.Ports = endpoints, ports
		if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("endpointslice %s: %w", Name, err)
		}
	}
	return nil
}
