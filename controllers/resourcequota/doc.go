// Package resourcequota is the resource quota controller: it keeps every
// ResourceQuota's status.hard equal to its spec.hard and recomputes
// status.used from the objects that exist in the namespace (object counts,
// compute requests and limits of non-terminal pods, storage requests per
// class, node ports and load balancers, with the quota's scopes), when the
// quota changes, when a tracked object is created, deleted or changes in a
// way that moves usage, and on a full resync every five minutes. Admission
// (apiserver/admission/resourcequota) only ever charges usage; this
// controller is what gives it back. The usage evaluators are the admission
// plugin's, so both agree on what an object costs.
//
// Its tests also run the disruption and horizontal pod autoscaler
// controllers' API-server tests, to keep the number of test binaries that
// link an API server down.
package resourcequota
