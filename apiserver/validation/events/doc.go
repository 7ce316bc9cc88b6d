// Package events validates Events, which the API serves as two structs:
// core/v1 Event and events.k8s.io/v1 Event. The rules every Event passes
// are written once, on the core/v1 struct; an events.k8s.io/v1 Event is
// mapped onto it and then meets stricter rules. Field paths are upstream's,
// which names fields as core/v1 does for both versions.
package events
