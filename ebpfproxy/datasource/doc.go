// Package datasource turns Kubernetes Services and EndpointSlices into the
// proxy's desired-state tables. Today it holds the pure translation
// (ServiceFromKube, BackendsFromKube, Apply); the informers that will call
// it on every Service and EndpointSlice event come later. It never touches
// BPF maps.
package datasource
