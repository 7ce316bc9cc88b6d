// Package bootstrapsigner is kube-controller-manager's "bootstrapsigner"
// controller: it keeps, in the kube-public cluster-info ConfigMap, one
// detached JWS signature jws-kubeconfig-<id> of the published kubeconfig
// for every unexpired bootstrap token marked usage-bootstrap-signing, and
// removes the signatures of tokens that are gone, expired or no longer for
// signing. A joining node verifies the cluster CA with it.
//
// It does not create cluster-info: the API server's bootstrap (or kubeadm)
// publishes it unsigned (internal/bootstraptoken.EnsureClusterInfo).
package bootstrapsigner
