// Package resourcequota provides the ResourceQuota admission plugin: the
// upstream quota evaluator from k8s.io/apiserver (which checks usage against
// hard limits and records the new usage in status.used through the loopback
// client) configured with Skiff's own usage evaluators for pods, services
// and persistent volume claims, and object counting for everything else.
//
// It is not a quota controller: usage released by deletes is not given back
// until something recalculates status.used.
package resourcequota
