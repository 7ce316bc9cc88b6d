// Package endpoint is the endpoints controller ("endpoint" in
// kube-controller-manager's --controllers): for every Service with a
// selector it keeps the Endpoints object of the same name listing the
// selected pods' addresses (ready and not ready), their resolved target
// ports, hostnames, nodes and pod references. Services without a selector
// are left to whoever manages their Endpoints.
package endpoint
