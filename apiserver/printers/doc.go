// Package printers holds the server-side columns `kubectl get` shows for
// Skiff's built-in resources: one column set and one typed row function per
// kind on the external k8s.io/api types, behind a rest.TableConvertor that
// matches kube-apiserver's Table output. It does not print on the client
// side, nor for aggregated APIs or custom resources.
package printers
