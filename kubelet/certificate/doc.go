// Package certificate holds the kubelet's credentials: TLS bootstrapping
// (Bootstrap: a bootstrap-token kubeconfig → a CertificateSigningRequest →
// a kubeconfig with the node's own client certificate, system:node:<name>
// in system:nodes), the managers that rotate the client certificate and the
// serving certificate of port 10250 before they expire, a client config
// whose connections follow the client manager's rotations, and the
// token-based discovery of the cluster CA from the signed cluster-info
// ConfigMap (DiscoverCA) and its check against public key pins
// (CheckCAPins, sha256 of the SubjectPublicKeyInfo), as kubeadm join
// verifies it. Connect puts bootstrap and rotation together the way the
// kubelet's --bootstrap-kubeconfig and --rotate-certificates do.
//
// The certificates live in CertDir as kubelet-client-current.pem and
// kubelet-server-current.pem (certificate and key in one file, symlinks to
// dated files), the layout upstream's kubelet uses. Approving and signing
// the requests is controllers/certificates' job.
package certificate
