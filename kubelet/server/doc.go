// Package server is the kubelet's HTTPS API (port 10250), as upstream's
// kubelet serves it: /healthz, /pods, /containerLogs, /exec, /attach and
// /portForward (SPDY, WebSocket channel protocols v1-v5 and SPDY tunnelled
// over WebSocket), /metrics, /metrics/resource and /stats/summary.
// Requests are authenticated with client certificates (against the client
// CA) or bearer tokens (TokenReview) and authorized with SubjectAccessReview
// on the nodes resource, through k8s.io/apiserver's delegating factories.
// The API server's pods/log, exec, attach, portforward and nodes/proxy
// subresources land here.
package server
