// Package statefulset is the StatefulSet controller (Descriptor
// "statefulset"): it keeps pods <set>-<ordinal> with stable identity
// (pod-name and pod-index labels, hostname and subdomain), creates their
// PersistentVolumeClaims from volumeClaimTemplates and owns them as
// persistentVolumeClaimRetentionPolicy says, orders creation and deletion
// under OrderedReady, rolls updates out highest ordinal first down to the
// partition (or leaves them to OnDelete), records templates as
// ControllerRevisions and reports status, as kube-controller-manager's
// statefulset controller does.
package statefulset
