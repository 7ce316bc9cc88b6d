package integration

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/endpointslice"
)

var ipCounter atomic.Int32

// nextIPs returns a fresh IPv4 and IPv6 pod address.
func nextIPs() (string, string) {
	n := ipCounter.Add(1)
	return fmt.Sprintf("10.244.%d.%d", n/250, n%250+1), fmt.Sprintf("fd00:244::%x", n)
}

type podSpec struct {
	name     string
	labels   map[string]string
	node     string
	ports    []corev1.ContainerPort
	ready    bool
	dual     bool
	hostname string
	sub      string
	phase    corev1.PodPhase
	// finalizer keeps the pod around once deleted (terminating).
	finalizer bool
}

const testFinalizer = "skiff.dev/test"

// createPod creates a pod bound to its node and gives it the status a
// kubelet would: Running with IPs and a Ready condition.
func createPod(t *testing.T, ctx context.Context, ns string, s podSpec) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns, Labels: s.labels},
		Spec: corev1.PodSpec{
			NodeName:  s.node,
			Hostname:  s.hostname,
			Subdomain: s.sub,
			Containers: []corev1.Container{{
				Name: "c", Image: "registry.k8s.io/pause:3.10", Ports: s.ports,
			}},
		},
	}
	if s.finalizer {
		pod.Finalizers = []string{testFinalizer}
	}
	var created *corev1.Pod
	// The ServiceAccount admission plugin refuses pods until the namespace's
	// default ServiceAccount exists.
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		var err error
		created, err = kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		return err == nil, err
	}, "create pod %s", s.name)
	v4, v6 := nextIPs()
	created.Status.PodIP = v4
	created.Status.PodIPs = []corev1.PodIP{{IP: v4}}
	if s.dual {
		created.Status.PodIPs = append(created.Status.PodIPs, corev1.PodIP{IP: v6})
	}
	created.Status.Phase = corev1.PodRunning
	if s.phase != "" {
		created.Status.Phase = s.phase
	}
	created.Status.Conditions = []corev1.PodCondition{readyCondition(s.ready)}
	updated, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("pod %s status: %v", s.name, err)
	}
	if s.finalizer {
		t.Cleanup(func() { removeFinalizer(context.Background(), ns, s.name) })
	}
	return updated
}

func readyCondition(ready bool) corev1.PodCondition {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}
}

// setReady flips a pod's Ready condition.
func setReady(t *testing.T, ctx context.Context, ns, name string, ready bool) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		pod, err := kc.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod.Status.Conditions = []corev1.PodCondition{readyCondition(ready)}
		_, err = kc.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err == nil, err
	}, "set pod %s ready=%v", name, ready)
}

func removeFinalizer(ctx context.Context, ns, name string) {
	for i := 0; i < 10; i++ {
		pod, err := kc.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return
		}
		pod.Finalizers = nil
		if _, err := kc.CoreV1().Pods(ns).Update(ctx, pod, metav1.UpdateOptions{}); err == nil || !apierrors.IsConflict(err) {
			return
		}
	}
}

func createNode(t *testing.T, ctx context.Context, name, zone string) {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: zone}}}
	if _, err := kc.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create node: %v", err)
	}
	t.Cleanup(func() { _ = kc.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

func createService(t *testing.T, ctx context.Context, svc *corev1.Service) *corev1.Service {
	t.Helper()
	created, err := kc.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	return created
}

func webService(ns string, selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: map[string]string{"tier": "front"}},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// slicesOf lists the EndpointSlices the EndpointSlice controller manages
// for a Service.
func slicesOf(ctx context.Context, ns, svc string) ([]discovery.EndpointSlice, error) {
	list, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discovery.LabelServiceName + "=" + svc + "," + discovery.LabelManagedBy + "=" + endpointslice.ControllerName,
	})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// endpointSummary is one endpoint of a slice, flattened for comparison.
type endpointSummary struct {
	Address, Pod, Node, Zone, Hostname string
	Ready, Serving, Terminating        bool
	Port                               int32
	AddressType                        discovery.AddressType
}

func summarize(slices []discovery.EndpointSlice) []endpointSummary {
	var out []endpointSummary
	for _, s := range slices {
		var port int32
		if len(s.Ports) > 0 && s.Ports[0].Port != nil {
			port = *s.Ports[0].Port
		}
		for _, ep := range s.Endpoints {
			e := endpointSummary{Address: ep.Addresses[0], Port: port, AddressType: s.AddressType}
			if ep.TargetRef != nil {
				e.Pod = ep.TargetRef.Name
			}
			if ep.NodeName != nil {
				e.Node = *ep.NodeName
			}
			if ep.Zone != nil {
				e.Zone = *ep.Zone
			}
			if ep.Hostname != nil {
				e.Hostname = *ep.Hostname
			}
			e.Ready = ep.Conditions.Ready != nil && *ep.Conditions.Ready
			e.Serving = ep.Conditions.Serving != nil && *ep.Conditions.Serving
			e.Terminating = ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pod != out[j].Pod {
			return out[i].Pod < out[j].Pod
		}
		return out[i].AddressType < out[j].AddressType
	})
	return out
}

// addrSummary flattens an Endpoints object: "pod:port" for ready and not
// ready addresses.
func addrSummary(ep *corev1.Endpoints) (ready, notReady []string) {
	for _, s := range ep.Subsets {
		for _, p := range s.Ports {
			for _, a := range s.Addresses {
				ready = append(ready, fmt.Sprintf("%s:%d", a.TargetRef.Name, p.Port))
			}
			for _, a := range s.NotReadyAddresses {
				notReady = append(notReady, fmt.Sprintf("%s:%d", a.TargetRef.Name, p.Port))
			}
		}
	}
	sort.Strings(ready)
	sort.Strings(notReady)
	return ready, notReady
}
