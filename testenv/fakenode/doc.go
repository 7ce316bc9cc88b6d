// Package fakenode keeps Node objects alive without a kubelet, in the manner
// of kwok: each fake node registers itself Ready, renews its Lease in
// kube-node-lease, marks the pods bound to it Running and Ready (with a pod
// IP from its podCIDR), and finishes the deletion of its terminating pods.
// It is for tests of controllers and schedulers, which only ever see what
// a kubelet would write through the API.
package fakenode
