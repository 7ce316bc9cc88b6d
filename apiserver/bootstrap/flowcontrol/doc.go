// Package flowcontrol holds the API Priority and Fairness configuration
// kube-apiserver bootstraps (the mandatory "exempt" and "catch-all"
// FlowSchemas and PriorityLevelConfigurations and the suggested ones, taken
// from k8s.io/apiserver's bootstrap package) and Ensure, which creates and
// reconciles them as upstream's priority-and-fairness-config-producer does.
// It does not delete unwanted auto-updated objects, and it does not
// evaluate APF itself.
package flowcontrol
