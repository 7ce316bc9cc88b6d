package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateServiceAccount validates a new ServiceAccount: a namespaced
// object named as a DNS subdomain. Upstream checks nothing else.
func ValidateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return metavalidation.ValidateObjectMeta(&sa.ObjectMeta, true, apimachineryvalidation.ValidateServiceAccountName)
}

// ValidateServiceAccountUpdate validates an update of a ServiceAccount.
func ValidateServiceAccountUpdate(sa, old *corev1.ServiceAccount) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&sa.ObjectMeta, &old.ObjectMeta)
	return append(errs, ValidateServiceAccount(sa)...)
}
