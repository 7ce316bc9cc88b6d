// Package rootcacertpublisher is the root CA certificate publisher
// ("root-ca-cert-publisher" in kube-controller-manager's --controllers): it
// keeps the ConfigMap kube-root-ca.crt, holding the cluster's CA bundle
// under ca.crt, in every namespace, restoring it when edited or deleted.
package rootcacertpublisher
