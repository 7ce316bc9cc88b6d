// Package garbagecollector is the garbage collector: it watches the
// metadata of every listable, watchable and deletable resource the API server
// serves (custom resources included, re-discovered periodically and whenever
// CustomResourceDefinitions change), keeps a graph of ownerReferences, and
// deletes objects whose owners are all gone (background cascading), deletes
// the dependents of owners held by the foregroundDeletion finalizer before
// releasing them (foreground cascading, honouring blockOwnerDeletion), and
// removes owners' references from their dependents when they are held by the
// orphan finalizer. Its semantics follow kube-controller-manager's garbage
// collector; the implementation is Skiff's own.
package garbagecollector
