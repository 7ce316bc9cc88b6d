// Package datasource turns Kubernetes Services and EndpointSlices into the
// proxy's desired-state tables: the pure translation (ServiceFromKube,
// BackendsFromKube, Apply) and Source, whose Service, EndpointSlice and Node
// informers apply it on every event. It never touches BPF maps.
package datasource
