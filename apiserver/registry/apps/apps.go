// Package apps declares the apps/v1 workloads — Deployments, ReplicaSets,
// StatefulSets, DaemonSets — with their status and scale subresources, and
// ControllerRevisions. The controllers that act on them live under
// controllers/; the API server only stores, validates and defaults.
package apps

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	appsvalidation "github.com/skiff-dev/skiff/apiserver/validation/apps"
)

// Resources returns the apps/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	gv := appsv1.SchemeGroupVersion
	table := func(r string) rest.TableConvertor { return tables(appsv1.Resource(r)) }
	return []registry.Resource{
		&registry.Definition[*appsv1.Deployment]{
			GroupVersion: gv, Resource: "deployments", Singular: "deployment", Kind: "Deployment", Namespaced: true,
			ShortNames: []string{"deploy"}, Categories: []string{"all"},
			Validate:       appsvalidation.ValidateDeployment,
			ValidateUpdate: appsvalidation.ValidateDeploymentUpdate,
			New:            func() *appsv1.Deployment { return &appsv1.Deployment{} },
			NewList:        func() runtime.Object { return &appsv1.DeploymentList{} },
			Generation:     true,
			Status:         &registry.Status[*appsv1.Deployment]{ValidateUpdate: appsvalidation.ValidateDeploymentStatusUpdate},
			Scale: &registry.Scale[*appsv1.Deployment]{
				Replicas: func(d *appsv1.Deployment) (int32, int32, string, error) {
					sel, err := selectorString(d.Spec.Selector)
					return replicas(d.Spec.Replicas), d.Status.Replicas, sel, err
				},
				SetReplicas: func(d *appsv1.Deployment, n int32) { d.Spec.Replicas = &n },
			},
			TableConvertor: table("deployments"),
		},
		&registry.Definition[*appsv1.ReplicaSet]{
			GroupVersion: gv, Resource: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", Namespaced: true,
			ShortNames: []string{"rs"}, Categories: []string{"all"},
			Validate:       appsvalidation.ValidateReplicaSet,
			ValidateUpdate: appsvalidation.ValidateReplicaSetUpdate,
			New:            func() *appsv1.ReplicaSet { return &appsv1.ReplicaSet{} },
			NewList:        func() runtime.Object { return &appsv1.ReplicaSetList{} },
			Generation:     true,
			Status:         &registry.Status[*appsv1.ReplicaSet]{ValidateUpdate: appsvalidation.ValidateReplicaSetStatusUpdate},
			Scale: &registry.Scale[*appsv1.ReplicaSet]{
				Replicas: func(rs *appsv1.ReplicaSet) (int32, int32, string, error) {
					sel, err := selectorString(rs.Spec.Selector)
					return replicas(rs.Spec.Replicas), rs.Status.Replicas, sel, err
				},
				SetReplicas: func(rs *appsv1.ReplicaSet, n int32) { rs.Spec.Replicas = &n },
			},
			Fields: func(rs *appsv1.ReplicaSet) fields.Set {
				return fields.Set{"status.replicas": fmt.Sprint(rs.Status.Replicas)}
			},
			FieldLabels:    []string{"status.replicas"},
			TableConvertor: table("replicasets"),
		},
		&registry.Definition[*appsv1.StatefulSet]{
			GroupVersion: gv, Resource: "statefulsets", Singular: "statefulset", Kind: "StatefulSet", Namespaced: true,
			ShortNames: []string{"sts"}, Categories: []string{"all"},
			Validate:       appsvalidation.ValidateStatefulSet,
			ValidateUpdate: appsvalidation.ValidateStatefulSetUpdate,
			New:            func() *appsv1.StatefulSet { return &appsv1.StatefulSet{} },
			NewList:        func() runtime.Object { return &appsv1.StatefulSetList{} },
			Generation:     true,
			Status:         &registry.Status[*appsv1.StatefulSet]{ValidateUpdate: appsvalidation.ValidateStatefulSetStatusUpdate},
			Scale: &registry.Scale[*appsv1.StatefulSet]{
				Replicas: func(s *appsv1.StatefulSet) (int32, int32, string, error) {
					sel, err := selectorString(s.Spec.Selector)
					return replicas(s.Spec.Replicas), s.Status.Replicas, sel, err
				},
				SetReplicas: func(s *appsv1.StatefulSet, n int32) { s.Spec.Replicas = &n },
			},
			TableConvertor: table("statefulsets"),
		},
		&registry.Definition[*appsv1.DaemonSet]{
			GroupVersion: gv, Resource: "daemonsets", Singular: "daemonset", Kind: "DaemonSet", Namespaced: true,
			ShortNames: []string{"ds"}, Categories: []string{"all"},
			Validate:       appsvalidation.ValidateDaemonSet,
			ValidateUpdate: appsvalidation.ValidateDaemonSetUpdate,
			New:            func() *appsv1.DaemonSet { return &appsv1.DaemonSet{} },
			// The template generation (an annotation) counts template changes.
			PrepareForCreate: func(_ context.Context, ds *appsv1.DaemonSet) { appsvalidation.SetDaemonSetTemplateGeneration(ds, nil) },
			PrepareForUpdate: func(_ context.Context, ds, old *appsv1.DaemonSet) {
				appsvalidation.SetDaemonSetTemplateGeneration(ds, old)
			},
			NewList:        func() runtime.Object { return &appsv1.DaemonSetList{} },
			Generation:     true,
			Status:         &registry.Status[*appsv1.DaemonSet]{ValidateUpdate: appsvalidation.ValidateDaemonSetStatusUpdate},
			TableConvertor: table("daemonsets"),
		},
		&registry.Definition[*appsv1.ControllerRevision]{
			GroupVersion: gv, Resource: "controllerrevisions", Singular: "controllerrevision", Kind: "ControllerRevision", Namespaced: true,
			Validate:       appsvalidation.ValidateControllerRevision,
			ValidateUpdate: appsvalidation.ValidateControllerRevisionUpdate,
			New:            func() *appsv1.ControllerRevision { return &appsv1.ControllerRevision{} },
			NewList:        func() runtime.Object { return &appsv1.ControllerRevisionList{} },
			TableConvertor: table("controllerrevisions"),
		},
	}
}

// replicas reads a defaulted replica count; defaulting sets 1 when unset.
func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// selectorString renders a workload's label selector as a Scale shows it.
func selectorString(s *metav1.LabelSelector) (string, error) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "", fmt.Errorf("invalid label selector: %w", err)
	}
	return sel.String(), nil
}
