// Package tokencleaner is the bootstrap token cleaner ("tokencleaner" in
// kube-controller-manager's --controllers): bootstrap token Secrets (type
// bootstrap.kubernetes.io/token in kube-system) are deleted once the
// RFC 3339 time in their "expiration" key has passed.
package tokencleaner
