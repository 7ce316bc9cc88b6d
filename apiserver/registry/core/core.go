package core

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/core/kubeletproxy"
	"github.com/skiff-dev/skiff/apiserver/registry/core/namespace"
	"github.com/skiff-dev/skiff/apiserver/registry/core/pod"
	"github.com/skiff-dev/skiff/apiserver/registry/core/service"
	corevalidation "github.com/skiff-dev/skiff/apiserver/validation/core"
)

// Config is what the core resources need of the server.
type Config struct {
	// EventTTL is how long Events are kept (--event-ttl).
	EventTTL time.Duration
	// Tables returns the `kubectl get` columns of a resource, or nil.
	Tables func(schema.GroupResource) rest.TableConvertor
	// Services configures Service IP and port allocation; Allocators
	// receives the allocators once built.
	Services   service.Config
	Allocators *service.Allocators
	// Budgets returns the poddisruptionbudgets store once built.
	Budgets func() *genericregistry.Store
	// Kubelet says how the kubelet-facing subresources reach kubelets.
	Kubelet kubeletproxy.Config
}

// Resources returns the stored core/v1 resources.
func Resources(c Config) []registry.Resource {
	gv := corev1.SchemeGroupVersion
	tables := func(r string) rest.TableConvertor { return c.Tables(corev1.Resource(r)) }
	// Stores the kubelet-facing subresources read, set as they are built.
	var nodes, endpoints, pods *genericregistry.Store
	lazy := func(store **genericregistry.Store) rest.Getter {
		return kubeletproxy.GetterFunc(func(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
			if *store == nil {
				return nil, fmt.Errorf("storage not built yet")
			}
			return (*store).Get(ctx, name, opts)
		})
	}
	return []registry.Resource{
		namespace.Definition(tables("namespaces")),
		withExtend(pod.Definition(pod.Config{Tables: tables("pods"), Budgets: c.Budgets, Nodes: lazy(&nodes), Kubelet: c.Kubelet}),
			func(main *registry.REST, _ map[string]rest.Storage) error { pods = main.Store; return nil }),
		withExtend(service.Definition(c.Services, tables("services"), c.Allocators),
			func(main *registry.REST, storages map[string]rest.Storage) error {
				storages["services/proxy"] = kubeletproxy.NewServiceProxyREST(main.Store, lazy(&endpoints), lazy(&pods), c.Kubelet)
				return nil
			}),
		&registry.Definition[*corev1.PodTemplate]{
			GroupVersion: gv, Resource: "podtemplates", Singular: "podtemplate", Kind: "PodTemplate", Namespaced: true,
			New:            func() *corev1.PodTemplate { return &corev1.PodTemplate{} },
			NewList:        func() runtime.Object { return &corev1.PodTemplateList{} },
			Generation:     true,
			Validate:       corevalidation.ValidatePodTemplate,
			ValidateUpdate: corevalidation.ValidatePodTemplateUpdate,
			TableConvertor: tables("podtemplates"),
		},
		&registry.Definition[*corev1.ReplicationController]{
			GroupVersion: gv, Resource: "replicationcontrollers", Singular: "replicationcontroller", Kind: "ReplicationController", Namespaced: true,
			ShortNames: []string{"rc"}, Categories: []string{"all"},
			New:            func() *corev1.ReplicationController { return &corev1.ReplicationController{} },
			NewList:        func() runtime.Object { return &corev1.ReplicationControllerList{} },
			Generation:     true,
			Validate:       corevalidation.ValidateReplicationController,
			ValidateUpdate: corevalidation.ValidateReplicationControllerUpdate,
			Status:         &registry.Status[*corev1.ReplicationController]{ValidateUpdate: corevalidation.ValidateReplicationControllerStatusUpdate},
			Scale: &registry.Scale[*corev1.ReplicationController]{
				Replicas: func(rc *corev1.ReplicationController) (int32, int32, string, error) {
					desired := int32(1)
					if rc.Spec.Replicas != nil {
						desired = *rc.Spec.Replicas
					}
					return desired, rc.Status.Replicas, labels.SelectorFromSet(rc.Spec.Selector).String(), nil
				},
				SetReplicas: func(rc *corev1.ReplicationController, n int32) { rc.Spec.Replicas = &n },
			},
			Fields: func(rc *corev1.ReplicationController) fields.Set {
				return fields.Set{"status.replicas": strconv.Itoa(int(rc.Status.Replicas))}
			},
			FieldLabels:    []string{"status.replicas"},
			TableConvertor: tables("replicationcontrollers"),
		},
		&registry.Definition[*corev1.Endpoints]{
			GroupVersion: gv, Resource: "endpoints", Singular: "endpoints", Kind: "Endpoints", Namespaced: true,
			ShortNames:     []string{"ep"},
			New:            func() *corev1.Endpoints { return &corev1.Endpoints{} },
			NewList:        func() runtime.Object { return &corev1.EndpointsList{} },
			Validate:       corevalidation.ValidateEndpoints,
			ValidateUpdate: corevalidation.ValidateEndpointsUpdate,
			TableConvertor: tables("endpoints"),
			Extend: func(main *registry.REST, _ map[string]rest.Storage) error {
				endpoints = main.Store
				return nil
			},
		},
		&registry.Definition[*corev1.Node]{
			GroupVersion: gv, Resource: "nodes", Singular: "node", Kind: "Node",
			ShortNames:     []string{"no"},
			New:            func() *corev1.Node { return &corev1.Node{} },
			NewList:        func() runtime.Object { return &corev1.NodeList{} },
			Validate:       corevalidation.ValidateNode,
			ValidateUpdate: corevalidation.ValidateNodeUpdate,
			Status:         &registry.Status[*corev1.Node]{KeepOnCreate: true, MetadataWritable: true, ValidateUpdate: corevalidation.ValidateNodeStatusUpdate},
			Fields: func(n *corev1.Node) fields.Set {
				return fields.Set{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)}
			},
			FieldLabels:    []string{"spec.unschedulable"},
			TableConvertor: tables("nodes"),
			Extend: func(main *registry.REST, storages map[string]rest.Storage) error {
				nodes = main.Store
				storages["nodes/proxy"] = kubeletproxy.NewNodeProxyREST(main.Store, c.Kubelet)
				return nil
			},
		},
		&registry.Definition[*corev1.PersistentVolume]{
			GroupVersion: gv, Resource: "persistentvolumes", Singular: "persistentvolume", Kind: "PersistentVolume",
			ShortNames: []string{"pv"},
			New:        func() *corev1.PersistentVolume { return &corev1.PersistentVolume{} },
			NewList:    func() runtime.Object { return &corev1.PersistentVolumeList{} },
			PrepareForCreate: func(_ context.Context, pv *corev1.PersistentVolume) {
				pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
				now := metav1.Now()
				pv.Status.LastPhaseTransitionTime = &now
			},
			Validate:       corevalidation.ValidatePersistentVolume,
			ValidateUpdate: corevalidation.ValidatePersistentVolumeUpdate,
			Status:         &registry.Status[*corev1.PersistentVolume]{ValidateUpdate: corevalidation.ValidatePersistentVolumeStatusUpdate},
			TableConvertor: tables("persistentvolumes"),
		},
		&registry.Definition[*corev1.PersistentVolumeClaim]{
			GroupVersion: gv, Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Kind: "PersistentVolumeClaim", Namespaced: true,
			ShortNames: []string{"pvc"},
			New:        func() *corev1.PersistentVolumeClaim { return &corev1.PersistentVolumeClaim{} },
			NewList:    func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
			PrepareForCreate: func(_ context.Context, pvc *corev1.PersistentVolumeClaim) {
				pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
			},
			Validate:       corevalidation.ValidatePersistentVolumeClaim,
			ValidateUpdate: corevalidation.ValidatePersistentVolumeClaimUpdate,
			Status:         &registry.Status[*corev1.PersistentVolumeClaim]{ValidateUpdate: corevalidation.ValidatePersistentVolumeClaimStatusUpdate},
			TableConvertor: tables("persistentvolumeclaims"),
		},
		&registry.Definition[*corev1.ResourceQuota]{
			GroupVersion: gv, Resource: "resourcequotas", Singular: "resourcequota", Kind: "ResourceQuota", Namespaced: true,
			ShortNames:     []string{"quota"},
			New:            func() *corev1.ResourceQuota { return &corev1.ResourceQuota{} },
			NewList:        func() runtime.Object { return &corev1.ResourceQuotaList{} },
			Validate:       corevalidation.ValidateResourceQuota,
			ValidateUpdate: corevalidation.ValidateResourceQuotaUpdate,
			Status:         &registry.Status[*corev1.ResourceQuota]{ValidateUpdate: corevalidation.ValidateResourceQuotaStatusUpdate},
			TableConvertor: tables("resourcequotas"),
		},
		&registry.Definition[*corev1.LimitRange]{
			GroupVersion: gv, Resource: "limitranges", Singular: "limitrange", Kind: "LimitRange", Namespaced: true,
			ShortNames:     []string{"limits"},
			New:            func() *corev1.LimitRange { return &corev1.LimitRange{} },
			NewList:        func() runtime.Object { return &corev1.LimitRangeList{} },
			Validate:       corevalidation.ValidateLimitRange,
			ValidateUpdate: corevalidation.ValidateLimitRangeUpdate,
			TableConvertor: tables("limitranges"),
		},
		&registry.Definition[*corev1.ConfigMap]{
			GroupVersion: gv, Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap", Namespaced: true,
			ShortNames:     []string{"cm"},
			New:            func() *corev1.ConfigMap { return &corev1.ConfigMap{} },
			NewList:        func() runtime.Object { return &corev1.ConfigMapList{} },
			Validate:       corevalidation.ValidateConfigMap,
			ValidateUpdate: corevalidation.ValidateConfigMapUpdate,
			TableConvertor: tables("configmaps"),
		},
		&registry.Definition[*corev1.Secret]{
			GroupVersion: gv, Resource: "secrets", Singular: "secret", Kind: "Secret", Namespaced: true,
			New:            func() *corev1.Secret { return &corev1.Secret{} },
			NewList:        func() runtime.Object { return &corev1.SecretList{} },
			Validate:       corevalidation.ValidateSecret,
			ValidateUpdate: corevalidation.ValidateSecretUpdate,
			Fields:         func(s *corev1.Secret) fields.Set { return fields.Set{"type": string(s.Type)} },
			FieldLabels:    []string{"type"},
			TableConvertor: tables("secrets"),
		},
		&registry.Definition[*corev1.ServiceAccount]{
			GroupVersion: gv, Resource: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", Namespaced: true,
			ShortNames:     []string{"sa"},
			New:            func() *corev1.ServiceAccount { return &corev1.ServiceAccount{} },
			NewList:        func() runtime.Object { return &corev1.ServiceAccountList{} },
			Validate:       corevalidation.ValidateServiceAccount,
			ValidateUpdate: corevalidation.ValidateServiceAccountUpdate,
			TableConvertor: tables("serviceaccounts"),
		},
		&registry.Definition[*corev1.Event]{
			GroupVersion: gv, Resource: "events", Singular: "event", Kind: "Event", Namespaced: true,
			ShortNames:          []string{"ev"},
			New:                 func() *corev1.Event { return &corev1.Event{} },
			NewList:             func() runtime.Object { return &corev1.EventList{} },
			Validate:            corevalidation.ValidateEvent,
			ValidateUpdate:      corevalidation.ValidateEventUpdate,
			AllowCreateOnUpdate: true,
			Fields:              EventFields,
			FieldLabels: []string{
				"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
				"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
				"reason", "reportingComponent", "source", "type",
			},
			TTL: func(*corev1.Event, uint64, bool) (uint64, error) {
				return uint64(c.EventTTL.Seconds()), nil
			},
			TableConvertor: tables("events"),
		},
	}
}

// EventFields are the selectable fields of a core/v1 Event, as upstream's
// event strategy exposes them.
func EventFields(e *corev1.Event) fields.Set {
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

// withExtend runs extra after d's own Extend hook, if any.
func withExtend[T registry.Object](d *registry.Definition[T], extra func(*registry.REST, map[string]rest.Storage) error) *registry.Definition[T] {
	own := d.Extend
	d.Extend = func(main *registry.REST, storages map[string]rest.Storage) error {
		if own != nil {
			if err := own(main, storages); err != nil {
				return err
			}
		}
		return extra(main, storages)
	}
	return d
}
