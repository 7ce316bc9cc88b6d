// Package resource validates resource.k8s.io/v1 (dynamic resource
// allocation) objects: DeviceClasses, ResourceClaims with their status,
// ResourceClaimTemplates, ResourceSlices and DeviceTaintRules with their
// status. Device requests, selectors
// (CEL, compiled with k8s.io/dynamic-resource-allocation/cel as upstream
// does), constraints, configuration and claim status invariants follow
// upstream's field paths and messages; of a ResourceSlice only its driver,
// pool, node selection and device names are checked (see the package's
// report for what upstream checks beyond that).
package resource
