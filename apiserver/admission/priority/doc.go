// Package priority provides the Priority admission plugin: a new pod's
// spec.priorityClassName is resolved to spec.priority and
// spec.preemptionPolicy (the global default class, or priority 0, when it
// names none), and at most one PriorityClass may be the global default.
package priority
