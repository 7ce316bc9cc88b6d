// Package apps validates the apps/v1 kinds (Deployment, ReplicaSet,
// StatefulSet, DaemonSet and ControllerRevision) on the external types, with
// upstream kube-apiserver's field paths, error types and messages.
//
// The validators expect the object to have been defaulted
// (apiserver/defaults) and prepared by its registry strategy as upstream's
// is: status reset on create and kept on update, generation handled. Two
// apps/v1 annotations stand for fields of upstream's internal types and are
// read here as upstream's conversion reads them:
// deprecated.daemonset.template.generation (a DaemonSet's
// spec.templateGeneration, which the strategy must maintain, see
// SetDaemonSetTemplateGeneration) and deprecated.deployment.rollback.to (a
// Deployment's spec.rollbackTo.revision).
//
// Like upstream, some rules are checked twice (a StatefulSet template's
// labels and annotations, a ControllerRevision's metadata on update), so an
// error can appear twice in the list.
package apps
