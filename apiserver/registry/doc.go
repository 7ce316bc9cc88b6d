// Package registry is the one generic way Skiff declares a stored resource:
// a Definition names the resource and carries its type-specific hooks
// (validation, preparation, selectable fields, status subresource, TTL), and
// Build turns it into k8s.io/apiserver's genericregistry.Store and the REST
// storage the API group installs. Per-type packages hold only what is
// specific to their type; resources that are not stored in etcd (reviews,
// tokens) implement rest.Storage themselves.
package registry
