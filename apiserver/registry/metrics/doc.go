// Package metrics serves metrics.k8s.io/v1beta1 NodeMetrics (nodes) and
// PodMetrics (pods) as metrics-server does: read-only get and list, with
// label and metadata.name/namespace field selectors, over the nodes and
// pods the server's informers know and the usage a Source computed. Objects
// without usage are absent from lists and NotFound on get.
//
// It stores nothing and does not scrape kubelets (apiserver/resourcemetrics
// does); it does not support watch, as metrics-server does not.
package metrics
