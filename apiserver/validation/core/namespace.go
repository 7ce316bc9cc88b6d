package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateNamespace validates a new Namespace: a cluster-scoped object
// named as a DNS label, whose spec finalizers are qualified names.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&ns.ObjectMeta, false, apimachineryvalidation.ValidateNamespaceName)
	// Upstream reports these at the list, without the index.
	for _, f := range ns.Spec.Finalizers {
		errs = append(errs, metavalidation.ValidateFinalizerName(string(f), field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

// ValidateNamespaceUpdate validates an update of a Namespace through the
// main resource.
func ValidateNamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := ValidateNamespace(ns)
	return append(errs, metavalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)...)
}

// ValidateNamespaceStatusUpdate validates an update through
// namespaces/status: the phase must be Active while the namespace is not
// being deleted, and Terminating once it is.
func ValidateNamespaceStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	// Upstream's path has a capital P.
	phasePath := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(phasePath, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(phasePath, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// ValidateNamespaceFinalizeUpdate validates an update through
// namespaces/finalize, which may change spec.finalizers.
func ValidateNamespaceFinalizeUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, metavalidation.ValidateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
}
