// Package envtest holds an end-to-end suite that runs a kubebuilder-style
// operator (./operator) under controller-runtime's stock envtest, with
// kube-apiserver, etcd and kubectl laid out by `skiff envtest-assets`: it
// shows that Skiff's API server is a drop-in kube-apiserver for operator
// test suites. It has no non-test code; it is not a harness for other tests.
package envtest
