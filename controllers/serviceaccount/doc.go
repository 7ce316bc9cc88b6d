// Package serviceaccount holds two controllers of kube-controller-manager:
// "serviceaccount", which keeps a "default" ServiceAccount in every active
// namespace, and "serviceaccount-token", which fills legacy Secrets of type
// kubernetes.io/service-account-token with a signed non-expiring token, the
// root CA and the namespace (and deletes them when their ServiceAccount is
// gone). It also exports RootCA, the CA bundle lookup both it and the root
// CA publisher use.
package serviceaccount
