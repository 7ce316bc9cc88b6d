// Package kubeletproxy serves the core/v1 subresources the API server
// answers by forwarding to somebody else: pods/log, pods/exec, pods/attach
// and pods/portforward go to the kubelet of the pod's node; pods/proxy,
// nodes/proxy and services/proxy go to a pod, a node or a service endpoint.
//
// It holds no state and stores nothing: each storage looks the object up
// through a rest.Getter, works out where to connect from its spec and
// status, and proxies the request there (upgrading to SPDY or websockets
// where the client asks). It is not a kubelet client for anything else.
package kubeletproxy
