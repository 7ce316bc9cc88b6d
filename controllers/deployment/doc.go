// Package deployment is Skiff's deployment controller. A Deployment owns one
// ReplicaSet per distinct pod template, named "<deployment>-<pod-template-hash>"
// and selecting its pods by the pod-template-hash label; the controller scales
// them for the RollingUpdate (maxSurge/maxUnavailable, proportional scaling of
// every active ReplicaSet when the Deployment is resized mid-rollout) and
// Recreate strategies, keeps the deployment.kubernetes.io/revision,
// desired-replicas and max-replicas annotations that kubectl rollout
// history/undo/status rely on, honours spec.paused, prunes old ReplicaSets past
// revisionHistoryLimit, and reports the Progressing (with
// progressDeadlineSeconds) and Available conditions and the replica counts in
// status.
package deployment
