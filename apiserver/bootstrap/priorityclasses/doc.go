// Package priorityclasses holds the PriorityClasses kube-apiserver creates at
// start-up (system-node-critical and system-cluster-critical) and Ensure,
// which creates the missing ones as upstream's
// scheduling/bootstrap-system-priority-classes post-start hook does. It never
// updates or deletes an existing class: their values are immutable, and
// validation rejects any other "system-" class.
package priorityclasses
