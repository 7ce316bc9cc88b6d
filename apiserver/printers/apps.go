package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// selectorColumn is the wide SELECTOR column, described by doc.
func selectorColumn(doc string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: doc}
}

var deployments = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
	{Name: "Up-to-date", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]},
	{Name: "Available", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]},
	ageColumn,
	containersColumn,
	imagesColumn,
	selectorColumn(appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]),
}, rowsOf(func(d *appsv1.Deployment, now time.Time) (metav1.TableRow, error) {
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	return cells(d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, ptr.Deref(d.Spec.Replicas, 0)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), since(d.CreationTimestamp, now), names, images, selector)
}))

var replicaSets = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Desired", Type: "integer", Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]},
	{Name: "Current", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]},
	{Name: "Ready", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]},
	ageColumn,
	containersColumn,
	imagesColumn,
	selectorColumn(appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]),
}, rowsOf(func(rs *appsv1.ReplicaSet, now time.Time) (metav1.TableRow, error) {
	names, images := containerCells(rs.Spec.Template.Spec.Containers)
	return cells(rs.Name, int64(ptr.Deref(rs.Spec.Replicas, 0)), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
		since(rs.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(rs.Spec.Selector))
}))

var statefulSets = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
	ageColumn,
	containersColumn,
	imagesColumn,
}, rowsOf(func(s *appsv1.StatefulSet, now time.Time) (metav1.TableRow, error) {
	names, images := containerCells(s.Spec.Template.Spec.Containers)
	return cells(s.Name, fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, ptr.Deref(s.Spec.Replicas, 0)),
		since(s.CreationTimestamp, now), names, images)
}))

var daemonSetStatusDoc = appsv1.DaemonSetStatus{}.SwaggerDoc()

var daemonSets = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Desired", Type: "integer", Description: daemonSetStatusDoc["desiredNumberScheduled"]},
	{Name: "Current", Type: "integer", Description: daemonSetStatusDoc["currentNumberScheduled"]},
	{Name: "Ready", Type: "integer", Description: daemonSetStatusDoc["numberReady"]},
	{Name: "Up-to-date", Type: "integer", Description: daemonSetStatusDoc["updatedNumberScheduled"]},
	{Name: "Available", Type: "integer", Description: daemonSetStatusDoc["numberAvailable"]},
	{Name: "Node Selector", Type: "string", Description: corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]},
	ageColumn,
	containersColumn,
	imagesColumn,
	selectorColumn(appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"]),
}, rowsOf(func(ds *appsv1.DaemonSet, now time.Time) (metav1.TableRow, error) {
	st := ds.Status
	names, images := containerCells(ds.Spec.Template.Spec.Containers)
	return cells(ds.Name, int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
		int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		since(ds.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(ds.Spec.Selector))
}))

var controllerRevisions = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Controller", Type: "string", Description: "Controller of the object"},
	{Name: "Revision", Type: "string", Description: appsv1.ControllerRevision{}.SwaggerDoc()["revision"]},
	ageColumn,
}, rowsOf(func(r *appsv1.ControllerRevision, now time.Time) (metav1.TableRow, error) {
	controller := none
	if ref := metav1.GetControllerOf(r); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return metav1.TableRow{}, fmt.Errorf("controller of ControllerRevision %s: %w", r.Name, err)
		}
		controller = ref.Name
		if gk := gv.WithKind(ref.Kind).GroupKind(); !gk.Empty() {
			controller = strings.ToLower(gk.String()) + "/" + ref.Name
		}
	}
	return cells(r.Name, controller, r.Revision, since(r.CreationTimestamp, now))
}))
