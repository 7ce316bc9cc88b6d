// Package ctbattest is the ClusterTrustBundleAttest admission plugin, as
// kube-apiserver's: creating or updating a ClusterTrustBundle that names a
// signer needs the "attest" verb on certificates.k8s.io "signers" for that
// signer name (or for "<domain>/*"), so only those trusted for a signer can
// publish its trust anchors.
package ctbattest
