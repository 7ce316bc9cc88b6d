// Package endpointslicemirroring is the EndpointSlice mirroring controller
// ("endpointslicemirroring" in kube-controller-manager's --controllers): the
// Endpoints of Services without a selector (custom Endpoints) are mirrored
// into EndpointSlices managed by endpointslicemirroring-controller.k8s.io,
// one slice per subset port set and address type, owned by the Endpoints.
package endpointslicemirroring
