package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidatePodTemplate validates a new PodTemplate: a namespaced object named
// as a DNS subdomain whose template is a valid pod template.
func ValidatePodTemplate(t *corev1.PodTemplate) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&t.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, ValidatePodTemplateSpec(&t.Template, field.NewPath("template"))...)
}

// ValidatePodTemplateUpdate validates an update of a PodTemplate: its
// template may change freely but must stay valid.
func ValidatePodTemplateUpdate(t, old *corev1.PodTemplate) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&t.ObjectMeta, &old.ObjectMeta)
	return append(errs, ValidatePodTemplateSpec(&t.Template, field.NewPath("template"))...)
}
