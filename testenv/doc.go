// Package testenv is an in-process test environment for operator authors:
// a real Skiff API server (embedded etcd, TLS, admission, validation)
// started inside the test binary, with no binaries to download and no
// processes to leak. Its Environment is used like controller-runtime's
// envtest.Environment (CRDs from directories, webhook install options,
// AddUser), and can also run the controllers stock envtest lacks — the
// garbage collector and the namespace controller, so that owned objects and
// namespaces really go away — the scheduler, and fake nodes that run bound
// pods.
//
//	env := &testenv.Environment{CRDDirectoryPaths: []string{"config/crd/bases"}, GarbageCollector: true}
//	cfg, err := env.Start()
//	...
//	defer env.Stop()
//
// Environments are independent: each has its own storage, ports and objects,
// so many can run in parallel in one test binary.
package testenv
