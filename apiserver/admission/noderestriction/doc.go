// Package noderestriction is the NodeRestriction admission plugin, as
// kube-apiserver's: it limits what a kubelet (system:node:<name> in
// system:nodes) may write to what its own node needs — its Node object
// (without steering labels, taints or config sources), mirror pods bound to
// it, the status and eviction of its pods, its Lease and CSINode, its
// ResourceSlices, tokens for its pods' service accounts, and CSRs in its own
// name. It pairs with the Node authorizer (apiserver/authz/node), which
// decides reads; it does nothing for other users.
package noderestriction
