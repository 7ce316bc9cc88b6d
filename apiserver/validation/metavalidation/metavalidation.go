package metavalidation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = sets.New(
	string(corev1.FinalizerKubernetes),
	metav1.FinalizerOrphanDependents,
	metav1.FinalizerDeleteDependents,
)

var metadataPath = field.NewPath("metadata")

// ValidateObjectMeta validates the metadata of a new object at
// "metadata": k8s.io/apimachinery's checks (name by nameFn, namespace
// presence, labels, annotations, owner references, finalizers) and, as
// upstream's core ValidateObjectMeta, that every finalizer without a "/" is a
// standard Kubernetes one.
func ValidateObjectMeta(meta *metav1.ObjectMeta, namespaced bool, nameFn apimachineryvalidation.ValidateNameFunc) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(meta, namespaced, nameFn, metadataPath)
	return append(errs, validateStandardFinalizers(meta.Finalizers)...)
}

// ValidateObjectMetaUpdate validates the metadata of an updated object
// against its old version at "metadata", with the same finalizer rule as
// ValidateObjectMeta.
func ValidateObjectMetaUpdate(meta, old *metav1.ObjectMeta) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(meta, old, metadataPath)
	return append(errs, validateStandardFinalizers(meta.Finalizers)...)
}

// ValidateFinalizerName validates one finalizer name at fldPath: a qualified
// name, and a standard Kubernetes finalizer if it has no "/".
func ValidateFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateFinalizerName(name, fldPath)
	return append(errs, validateStandardFinalizer(name, fldPath)...)
}

func validateStandardFinalizers(finalizers []string) field.ErrorList {
	var errs field.ErrorList
	for i, name := range finalizers {
		errs = append(errs, validateStandardFinalizer(name, metadataPath.Child("finalizers").Index(i))...)
	}
	return errs
}

func validateStandardFinalizer(name string, fldPath *field.Path) field.ErrorList {
	if strings.Contains(name, "/") || standardFinalizers.Has(name) {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified")}
}
