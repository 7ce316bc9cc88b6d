// Package servicecidrs is the ServiceCIDR controller
// ("service-cidr-controller" of kube-controller-manager): it puts the
// networking.k8s.io/service-cidr-finalizer on every ServiceCIDR, sets its
// Ready condition, and holds a ServiceCIDR being deleted (Ready=False,
// reason Terminating) while an allocated IPAddress would be left in no
// other ServiceCIDR, releasing it a grace period after its deletion so
// that allocations already under way cannot land in it.
package servicecidrs
