// Package e2e holds end-to-end tests that run the skiff binary as separate
// processes: stock kubectl against `skiff apiserver`, crash safety under
// kill -9, and `skiff kube-apiserver` on an external `skiff etcd`. The
// binary is $SKIFF_BINARY (hack/test.sh builds it), or built once here.
package e2e
