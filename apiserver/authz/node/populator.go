package node

import (
	"fmt"
	certificatesv1 "k8s.io/api/certificates/v1"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/dynamic-resource-allocation/resourceclaim"
	"k8s.io/klog/v2"
)

// populator keeps a Graph in step with informer events.
type populator struct {
	graph  *Graph
	logger klog.Logger
}

// Populate registers event handlers on f's pod, persistent volume, volume
// attachment and resource slice informers that keep graph up to date. The
// informers start with f; the returned function reports whether every
// handler has seen its informer's initial list.
func Populate(graph *Graph, f informers.SharedInformerFactory, logger klog.Logger) (hasSynced func() bool, err error) {
	p := &populator{graph: graph, logger: logger}
	var synced []cache.InformerSynced
	add := func(what string, inf cache.SharedIndexInformer, h cache.ResourceEventHandlerFuncs) error {
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			return fmt.Errorf("add %s event handler: %w", what, err)
		}
		synced = append(synced, reg.HasSynced)
		return nil
	}
	if err := add("pod", f.Core().V1().Pods().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.updatePod(nil, obj) },
		UpdateFunc: p.updatePod,
		DeleteFunc: p.deletePod,
	}); err != nil {
		return nil, err
	}
	if err := add("persistent volume", f.Core().V1().PersistentVolumes().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.updatePV(nil, obj) },
		UpdateFunc: p.updatePV,
		DeleteFunc: p.deletePV,
	}); err != nil {
		return nil, err
	}
	if err := add("volume attachment", f.Storage().V1().VolumeAttachments().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.updateAttachment(nil, obj) },
		UpdateFunc: p.updateAttachment,
		DeleteFunc: p.deleteAttachment,
	}); err != nil {
		return nil, err
	}
	if err := add("resource slice", f.Resource().V1().ResourceSlices().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc: p.addSlice,
		// spec.nodeName of a slice is immutable.
		DeleteFunc: p.deleteSlice,
	}); err != nil {
		return nil, err
	}
	if err := add("pod certificate request", f.Certificates().V1().PodCertificateRequests().Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc: p.addPodCertificateRequest,
		// The spec of a request is immutable.
		DeleteFunc: p.deletePodCertificateRequest,
	}); err != nil {
		return nil, err
	}
	return func() bool {
		for _, s := range synced {
			if !s() {
				return false
			}
		}
		return true
	}, nil
}

// tombstoned unwraps a deletion whose final state the informer missed.
func tombstoned(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

func (p *populator) updatePod(oldObj, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	if old, ok := oldObj.(*corev1.Pod); ok && old != nil {
		// A bound pod's references are immutable, except that ephemeral
		// containers may be added and claim statuses filled in.
		if old.Spec.NodeName == pod.Spec.NodeName && old.UID == pod.UID &&
			len(pod.Spec.EphemeralContainers) <= len(old.Spec.EphemeralContainers) &&
			resourceclaim.PodStatusEqual(old.Status.ResourceClaimStatuses, pod.Status.ResourceClaimStatuses) &&
			resourceclaim.PodExtendedStatusEqual(old.Status.ExtendedResourceClaimStatus, pod.Status.ExtendedResourceClaimStatus) {
			return
		}
	}
	p.logger.V(1).Info("Node authorizer graph: recording pod", "pod", klog.KObj(pod), "node", pod.Spec.NodeName)
	p.graph.AddPod(pod)
}

func (p *populator) deletePod(obj any) {
	pod, ok := tombstoned(obj).(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	p.graph.DeletePod(pod.Namespace, pod.Name)
}

func (p *populator) updatePV(_, obj any) {
	if pv, ok := obj.(*corev1.PersistentVolume); ok {
		p.graph.AddPV(pv)
	}
}

func (p *populator) deletePV(obj any) {
	if pv, ok := tombstoned(obj).(*corev1.PersistentVolume); ok {
		p.graph.DeletePV(pv.Name)
	}
}

func (p *populator) updateAttachment(oldObj, obj any) {
	va, ok := obj.(*storagev1.VolumeAttachment)
	if !ok {
		return
	}
	if old, ok := oldObj.(*storagev1.VolumeAttachment); ok && old != nil && old.Spec.NodeName == va.Spec.NodeName {
		return
	}
	p.graph.AddVolumeAttachment(va.Name, va.Spec.NodeName)
}

func (p *populator) deleteAttachment(obj any) {
	if va, ok := tombstoned(obj).(*storagev1.VolumeAttachment); ok {
		p.graph.DeleteVolumeAttachment(va.Name)
	}
}

func (p *populator) addSlice(obj any) {
	if s, ok := obj.(*resourcev1.ResourceSlice); ok {
		nodeName := ""
		if s.Spec.NodeName != nil {
			nodeName = *s.Spec.NodeName
		}
		p.graph.AddResourceSlice(s.Name, nodeName)
	}
}

func (p *populator) deleteSlice(obj any) {
	if s, ok := tombstoned(obj).(*resourcev1.ResourceSlice); ok {
		p.graph.DeleteResourceSlice(s.Name)
	}
}

func (p *populator) addPodCertificateRequest(obj any) {
	if r, ok := obj.(*certificatesv1.PodCertificateRequest); ok {
		p.graph.AddPodCertificateRequest(r.Namespace, r.Name, string(r.Spec.NodeName))
	}
}

func (p *populator) deletePodCertificateRequest(obj any) {
	if r, ok := tombstoned(obj).(*certificatesv1.PodCertificateRequest); ok {
		p.graph.DeletePodCertificateRequest(r.Namespace, r.Name)
	}
}
