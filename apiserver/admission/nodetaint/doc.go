// Package nodetaint provides the TaintNodesByCondition admission plugin:
// every new Node starts with the node.kubernetes.io/not-ready:NoSchedule
// taint, which the node lifecycle controller lifts once the node is Ready,
// so nothing is scheduled onto a node before it reports its conditions.
package nodetaint
