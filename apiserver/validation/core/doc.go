// Package core validates the core/v1 kinds — Pods (create, update, status,
// ephemeral containers, resize, binding), PodTemplates,
// ReplicationControllers, Services, Endpoints, Nodes, PersistentVolumes and
// their claims, ResourceQuotas, LimitRanges, Namespaces, ConfigMaps,
// Secrets, ServiceAccounts and Events — with upstream kube-apiserver's field
// paths, error types and messages. It also exports the pod-spec, resource,
// selector and scheduling checks the workload groups reuse. Defaulting is in
// apiserver/defaults; checks that need the request or stored state (IP and
// port allocation, node assignment) belong in the resources' strategies.
package core
