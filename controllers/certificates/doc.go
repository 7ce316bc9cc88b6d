// Package certificates holds kube-controller-manager's CSR controllers:
//
//   - "csrapproving" approves kubelet client certificate requests
//     (signer kubernetes.io/kube-apiserver-client-kubelet) whose requester
//     a SubjectAccessReview allows to create
//     certificatesigningrequests/nodeclient, or selfnodeclient when the
//     requester asks for its own node's certificate. Beyond upstream (which
//     leaves them to an external approver) it also approves kubelet serving
//     requests (kubernetes.io/kubelet-serving) that a node system:node:<n>
//     in system:nodes makes for CN system:node:<n> with DNS and IP SANs
//     that are all among Node <n>'s status.addresses.
//   - "csrsigning" signs approved requests of the kube-apiserver-client,
//     kube-apiserver-client-kubelet, kubelet-serving and legacy-unknown
//     signers with the cluster signing CA, failing those a signer must not
//     sign (SignerValidationFailure).
//   - "csrcleaner" deletes requests once they are of no further use:
//     approved or denied or failed ones after an hour, pending ones after a
//     day, issued ones once their certificate expired.
package certificates
