package pod

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/core/kubeletproxy"
	corevalidation "github.com/skiff-dev/skiff/apiserver/validation/core"
	"github.com/skiff-dev/skiff/internal/podqos"
)

// Config is what the pod storage needs beyond its own store.
type Config struct {
	Tables rest.TableConvertor
	// Budgets returns the poddisruptionbudgets store evictions check.
	Budgets func() *genericregistry.Store
	// Nodes reads nodes, for the kubelet address of log, exec, attach,
	// portforward; Kubelet says how to reach kubelets.
	Nodes   rest.Getter
	Kubelet kubeletproxy.Config
}

// Definition declares pods.
func Definition(c Config) *registry.Definition[*corev1.Pod] {
	tables, budgets := c.Tables, c.Budgets
	return &registry.Definition[*corev1.Pod]{
		GroupVersion: corev1.SchemeGroupVersion,
		Resource:     "pods", Singular: "pod", Kind: "Pod", Namespaced: true,
		ShortNames: []string{"po"}, Categories: []string{"all"},
		New:        func() *corev1.Pod { return &corev1.Pod{} },
		NewList:    func() runtime.Object { return &corev1.PodList{} },
		Generation: true,
		PrepareForCreate: func(_ context.Context, pod *corev1.Pod) {
			pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: podqos.Compute(pod)}
		},
		Validate:       corevalidation.ValidatePod,
		ValidateUpdate: corevalidation.ValidatePodUpdate,
		Status: &registry.Status[*corev1.Pod]{
			PrepareForUpdate: prepareStatusUpdate,
			ValidateUpdate:   corevalidation.ValidatePodStatusUpdate,
		},
		GracefulDelete: gracePeriod,
		Fields:         podFields,
		FieldLabels: []string{
			"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
			"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
			// Accepted as upstream accepts it, though, as upstream, no pod
			// has the field to select on.
			"status.podIPs",
		},
		Indexed:        []string{"spec.nodeName"},
		TableConvertor: tables,
		Extend: func(main *registry.REST, storages map[string]rest.Storage) error {
			storages["pods/binding"] = &BindingREST{store: main.Store}
			storages["bindings"] = NewLegacyBindingREST(main.Store)
			storages["pods/eviction"] = NewEvictionREST(main.Store, budgets)
			storages["pods/log"] = kubeletproxy.NewPodLogREST(main.Store, c.Nodes, c.Kubelet)
			storages["pods/exec"] = kubeletproxy.NewPodExecREST(main.Store, c.Nodes, c.Kubelet)
			storages["pods/attach"] = kubeletproxy.NewPodAttachREST(main.Store, c.Nodes, c.Kubelet)
			storages["pods/portforward"] = kubeletproxy.NewPodPortForwardREST(main.Store, c.Nodes, c.Kubelet)
			storages["pods/proxy"] = kubeletproxy.NewPodProxyREST(main.Store, c.Kubelet)
			storages["pods/ephemeralcontainers"] = partialUpdate(main.Store, keepEphemeralContainers, corevalidation.ValidatePodEphemeralContainersUpdate)
			storages["pods/resize"] = partialUpdate(main.Store, keepResize, corevalidation.ValidatePodResize)
			return nil
		},
	}
}

// gracePeriod decides how long a deleted pod may take to stop, as
// upstream's pod strategy does: the client's grace period, or the pod's
// terminationGracePeriodSeconds; zero — immediate removal — for a pod no
// node runs and for a pod that has finished.
func gracePeriod(_ context.Context, pod *corev1.Pod, options *metav1.DeleteOptions) bool {
	if options == nil {
		return false
	}
	var period int64
	switch {
	case options.GracePeriodSeconds != nil:
		period = *options.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	options.GracePeriodSeconds = &period
	return true
}

// podFields are the selectable fields of a pod, as upstream's.
func podFields(pod *corev1.Pod) fields.Set {
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

// keepEphemeralContainers makes pod old but for its ephemeral containers:
// all that pods/ephemeralcontainers may change.
func keepEphemeralContainers(pod, old *corev1.Pod) {
	ephemeral := pod.Spec.EphemeralContainers
	keepOld(pod, old)
	pod.Spec.EphemeralContainers = ephemeral
}

// keepResize makes pod old but for its containers' resources and resize
// policies and its pod-level resources: all that pods/resize may change.
func keepResize(pod, old *corev1.Pod) {
	type resize struct {
		resources corev1.ResourceRequirements
		policy    []corev1.ContainerResizePolicy
	}
	byName := map[string]resize{}
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		byName[c.Name] = resize{c.Resources, c.ResizePolicy}
	}
	podResources := pod.Spec.Resources
	keepOld(pod, old)
	apply := func(cs []corev1.Container) {
		for i := range cs {
			if r, ok := byName[cs[i].Name]; ok {
				cs[i].Resources, cs[i].ResizePolicy = r.resources, r.policy
			}
		}
	}
	apply(pod.Spec.InitContainers)
	apply(pod.Spec.Containers)
	pod.Spec.Resources = podResources
}

// keepOld resets pod to a copy of old, keeping the identity and the
// resourceVersion (the update's precondition) the client sent.
func keepOld(pod, old *corev1.Pod) {
	name, namespace, uid, rv := pod.Name, pod.Namespace, pod.UID, pod.ResourceVersion
	*pod = *old.DeepCopy()
	pod.Name, pod.Namespace, pod.UID, pod.ResourceVersion = name, namespace, uid, rv
}

// partialUpdate serves a subresource that writes one part of a pod's spec:
// keep narrows the update to that part, validate checks it.
func partialUpdate(main *genericregistry.Store, keep func(pod, old *corev1.Pod), validate func(pod, old *corev1.Pod) field.ErrorList) rest.Storage {
	store := *main
	st := &partialStrategy{RESTUpdateStrategy: main.UpdateStrategy, keep: keep, validate: validate}
	store.UpdateStrategy = st
	store.ResetFieldsStrategy = nil
	return registry.NewSubresourceREST(&store)
}

type partialStrategy struct {
	rest.RESTUpdateStrategy
	keep     func(pod, old *corev1.Pod)
	validate func(pod, old *corev1.Pod) field.ErrorList
}

func (s *partialStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	s.keep(pod, oldPod)
	// As upstream, the generation moves only if the spec did: a resize
	// or ephemeral-container write that changes nothing keeps it.
	pod.Generation = oldPod.Generation
	if !apiequality.Semantic.DeepEqual(pod.Spec, oldPod.Spec) {
		pod.Generation++
	}
}

// prepareStatusUpdate finishes a pods/status write as upstream's status
// strategy does: the QoS class, set at create and immutable, is kept if the
// write drops it, and so are the status's and its conditions'
// observedGeneration that the write leaves at zero.
func prepareStatusUpdate(_ context.Context, pod, old *corev1.Pod) {
	if pod.Status.QOSClass == "" {
		pod.Status.QOSClass = old.Status.QOSClass
	}
	if pod.Status.ObservedGeneration == 0 {
		pod.Status.ObservedGeneration = old.Status.ObservedGeneration
	}
	// Conditions may repeat a type: the n-th condition of a type takes the
	// n-th old one's.
	oldGenerations := map[corev1.PodConditionType][]int64{}
	for _, c := range old.Status.Conditions {
		oldGenerations[c.Type] = append(oldGenerations[c.Type], c.ObservedGeneration)
	}
	for i, c := range pod.Status.Conditions {
		var generation int64
		if gens := oldGenerations[c.Type]; len(gens) > 0 {
			generation, oldGenerations[c.Type] = gens[0], gens[1:]
		}
		if c.ObservedGeneration == 0 {
			pod.Status.Conditions[i].ObservedGeneration = generation
		}
	}
}

func (s *partialStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return s.validate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// assertPod narrows a stored object to a pod.
func assertPod(obj runtime.Object) (*corev1.Pod, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("unexpected object type %T, want a Pod", obj)
	}
	return pod, nil
}
