// Package endpointslice is the EndpointSlice controller ("endpointslice" in
// kube-controller-manager's --controllers): for every Service with a
// selector it keeps EndpointSlices (labelled kubernetes.io/service-name and
// managed by endpointslice-controller.k8s.io, owned by the Service) listing
// the selected pods, one set per address family and port mapping, at most
// MaxEndpointsPerSlice endpoints each, with ready/serving/terminating
// conditions, node names, zones, trafficDistribution hints and topology-aware
// hints (service.kubernetes.io/topology-mode: Auto). Changes are
// applied with as little churn as possible: endpoints are updated in the
// slices that hold them, new ones fill slices already being written, and a
// placeholder slice stands for Services without endpoints.
//
// Plan, the pure reconciliation step, is exported for tests and reuse.
package endpointslice
