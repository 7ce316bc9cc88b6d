// Package flowcontrol validates the flowcontrol.apiserver.k8s.io/v1 kinds
// (FlowSchema and PriorityLevelConfiguration, with their status) with
// upstream kube-apiserver's field paths, error types and messages, including
// the rule that the mandatory "exempt" and "catch-all" objects keep their
// fixed specs (taken from k8s.io/apiserver's bootstrap configuration).
package flowcontrol
