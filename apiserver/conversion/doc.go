// Package conversion converts between the versions of a kind where Skiff's
// internal version is not the version being served: events.k8s.io/v1 Events
// are stored as core/v1 Events (the two resources cohabit in etcd, as
// upstream's do), and autoscaling/v1 HorizontalPodAutoscalers convert to and
// from autoscaling/v2, the internal and storage version. AddToScheme
// registers the functions; they follow upstream's conversions field for field.
package conversion
