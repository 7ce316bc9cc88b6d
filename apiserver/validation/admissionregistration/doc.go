// Package admissionregistration validates admissionregistration.k8s.io/v1
// objects (webhook configurations, validating and mutating admission policies
// and their bindings) as kube-apiserver does, compiling their CEL expressions
// in k8s.io/apiserver's admission CEL environments. It neither defaults
// objects (apiserver/defaults does) nor checks anything that needs other
// stored objects, such as whether a binding's policy exists.
package admissionregistration
