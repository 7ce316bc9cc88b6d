// Package defaultingressclass provides the DefaultIngressClass admission
// plugin: an Ingress created without a class, neither spec.ingressClassName
// nor the kubernetes.io/ingress.class annotation, gets the cluster's
// default IngressClass (the newest one annotated
// ingressclass.kubernetes.io/is-default-class=true), as upstream's plugin
// of that name does.
package defaultingressclass
