// Package daemonset is the DaemonSet controller (Descriptor "daemonset"):
// it keeps one pod on every node the DaemonSet's template fits (node name,
// nodeSelector and required node affinity, NoSchedule/NoExecute taints
// against the template's tolerations plus the ones the controller adds),
// creates each pod with a required node affinity on its node's name for
// the scheduler to bind, rolls template changes out within maxUnavailable
// or maxSurge (or leaves them to OnDelete), records templates as
// ControllerRevisions and reports status, as kube-controller-manager's
// daemonset controller does.
package daemonset
