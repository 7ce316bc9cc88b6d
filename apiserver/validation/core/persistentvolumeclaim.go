package core

import (
	"fmt"
	"reflect"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

var claimResizeStatuses = sets.New(
	corev1.PersistentVolumeClaimControllerResizeInProgress,
	corev1.PersistentVolumeClaimControllerResizeInfeasible,
	corev1.PersistentVolumeClaimNodeResizePending,
	corev1.PersistentVolumeClaimNodeResizeInProgress,
	corev1.PersistentVolumeClaimNodeResizeInfeasible,
)

// ClaimSpecOptions are the allowances a claim spec inherits from the
// stored object on update; the zero value is the rules for create.
type ClaimSpecOptions struct {
	// AllowInvalidLabelValueInSelector keeps accepting a selector whose
	// values are not label values.
	AllowInvalidLabelValueInSelector bool
	// AllowInvalidAPIGroupInDataSourceOrRef keeps accepting data source
	// API groups that are not DNS subdomains.
	AllowInvalidAPIGroupInDataSourceOrRef bool
}

// claimSpecOptionsFor returns the options for an update of a claim whose
// stored spec is old.
func claimSpecOptionsFor(old *corev1.PersistentVolumeClaimSpec) ClaimSpecOptions {
	var opts ClaimSpecOptions
	opts.AllowInvalidAPIGroupInDataSourceOrRef = (old.DataSource != nil && old.DataSource.APIGroup != nil) ||
		(old.DataSourceRef != nil && old.DataSourceRef.APIGroup != nil)
	if len(metav1validation.ValidateLabelSelector(old.Selector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
		opts.AllowInvalidLabelValueInSelector = true
	}
	return opts
}

// ValidatePersistentVolumeClaim validates a new PersistentVolumeClaim: a
// namespaced object named as a DNS subdomain with a valid spec.
func ValidatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	return validatePersistentVolumeClaim(pvc, ClaimSpecOptions{})
}

func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim, opts ClaimSpecOptions) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&pvc.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, ValidatePersistentVolumeClaimSpec(&pvc.Spec, opts, field.NewPath("spec"))...)
}

// ValidatePersistentVolumeClaimSpec validates a claim spec at fldPath, in a
// claim or a claim template: access modes, a label selector, a positive
// storage request, class names, a volume mode, and data sources that agree
// with each other.
func ValidatePersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec, opts ClaimSpecOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.AllowInvalidLabelValueInSelector}
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, selOpts, fldPath.Child("selector"))...)
	}
	if len(spec.AccessModes) > 0 {
		errs = append(errs, validatePVAccessModes(spec.AccessModes, fldPath.Child("accessModes"), "")...)
	}

	// Upstream keys the storage request on resources itself.
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if qErrs := ValidatePositiveQuantityValue(q, storagePath); len(qErrs) > 0 {
		errs = append(errs, qErrs...)
	} else {
		errs = append(errs, ValidateResourceQuantityValue(corev1.ResourceStorage, q, storagePath)...)
	}

	if c := spec.StorageClassName; c != nil && *c != "" {
		errs = append(errs, nameErrs(*c, apimachineryvalidation.NameIsDNSSubdomain, fldPath.Child("storageClassName"))...)
	}
	if mode := spec.VolumeMode; mode != nil && !pvVolumeModes.Has(*mode) {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *mode, sets.List(pvVolumeModes)))
	}

	if ds := spec.DataSource; ds != nil {
		errs = append(errs, validateClaimDataSource(ds.Kind, ds.Name, ds.APIGroup, opts, fldPath.Child("dataSource"))...)
	}
	if ref := spec.DataSourceRef; ref != nil {
		p := fldPath.Child("dataSourceRef")
		errs = append(errs, validateClaimDataSource(ref.Kind, ref.Name, ref.APIGroup, opts, p)...)
		if ref.Namespace != nil && *ref.Namespace != "" {
			errs = append(errs, nameErrs(*ref.Namespace, apimachineryvalidation.ValidateNamespaceName, p.Child("namespace"))...)
		}
	}
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil && *ref.Namespace != "" {
		if spec.DataSource != nil {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if ds := spec.DataSource; ds != nil && ref != nil {
		if !reflect.DeepEqual(ds.APIGroup, ref.APIGroup) || ds.Kind != ref.Kind || ds.Name != ref.Name {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	if c := spec.VolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, nameErrs(*c, apimachineryvalidation.NameIsDNSSubdomain, fldPath.Child("volumeAttributesClassName"))...)
	}
	return errs
}

// validateClaimDataSource validates a data source or data source reference
// of a claim: a name and kind, PersistentVolumeClaim for the core group,
// and a DNS-subdomain API group otherwise.
func validateClaimDataSource(kind, name string, apiGroup *string, opts ClaimSpecOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if group == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if group != "" && !opts.AllowInvalidAPIGroupInDataSourceOrRef {
		errs = append(errs, ValidateDNS1123Subdomain(group, fldPath.Child("apiGroup"))...)
	}
	return errs
}

// ValidatePersistentVolumeClaimUpdate validates an update of a claim. The
// spec is fixed after creation except that: volumeName may be set once; a
// storage class may move from the beta annotation to the field, or be set
// when it was nil; and a bound claim may change its storage request (not
// below status.capacity when shrinking back after a failed expansion,
// RecoverVolumeExpansionFailure being GA) and its volumeAttributesClassName
// (not to nil or "" once set).
func ValidatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePersistentVolumeClaim(pvc, claimSpecOptionsFor(&old.Spec))...)

	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if old.Spec.VolumeName == "" {
		// The PV controller binds a claim by setting volumeName, once.
		oldSpec.VolumeName = newSpec.VolumeName
	}
	newBetaClass, hasNewBetaClass := pvc.Annotations[corev1.BetaStorageClassAnnotation]
	oldBetaClass, hasOldBetaClass := old.Annotations[corev1.BetaStorageClassAnnotation]
	switch {
	case hasOldBetaClass && old.Spec.StorageClassName == nil && pvc.Spec.StorageClassName != nil &&
		*pvc.Spec.StorageClassName == oldBetaClass && (!hasNewBetaClass || newBetaClass == oldBetaClass):
		// Moving the class from the annotation to the field.
		newSpec.StorageClassName = nil
	default:
		if newBetaClass != oldBetaClass {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations", corev1.BetaStorageClassAnnotation), newBetaClass,
				apimachineryvalidation.FieldImmutableErrorMsg))
		}
		if pvc.Spec.StorageClassName != nil && old.Spec.StorageClassName == nil &&
			(!hasOldBetaClass || *pvc.Spec.StorageClassName == oldBetaClass) {
			// Setting a class that was nil.
			newSpec.StorageClassName = oldSpec.StorageClassName
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		if newSpec.Resources.Requests != nil {
			newSpec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		if newSpec.VolumeAttributesClassName != nil {
			newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
		}
	}
	if !apiequality.Semantic.DeepEqual(*newSpec, *oldSpec) {
		diff := cmp.Diff(*oldSpec, *newSpec)
		errs = append(errs, field.Forbidden(field.NewPath("spec"),
			fmt.Sprintf("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", diff)))
	}

	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := old.Status.Capacity[corev1.ResourceStorage]
	// Shrinking back toward status.capacity recovers from a failed
	// expansion; volumes themselves never shrink.
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	// Upstream's path lacks the "spec." prefix.
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)

	if old.Spec.VolumeAttributesClassName != nil {
		p := field.NewPath("spec", "volumeAttributesClassName")
		switch {
		case pvc.Spec.VolumeAttributesClassName == nil:
			errs = append(errs, field.Forbidden(p, "update from non-nil value to nil is forbidden"))
		case *pvc.Spec.VolumeAttributesClassName == "" && *old.Spec.VolumeAttributesClassName != "":
			errs = append(errs, field.Forbidden(p, "update from non-nil value to an empty string is forbidden"))
		}
	}
	return errs
}

// ValidatePersistentVolumeClaimStatusUpdate validates an update through
// persistentvolumeclaims/status: a resourceVersion, the claim's access
// modes, valid capacity quantities, and allocated resources and resize
// statuses about storage.
func ValidatePersistentVolumeClaimStatusUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta)
	if pvc.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	if len(pvc.Spec.AccessModes) == 0 {
		// Upstream's path has a capital S.
		errs = append(errs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	capPath := field.NewPath("status", "capacity")
	for name, q := range pvc.Status.Capacity {
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(capPath.Key(string(name)), q.Value(), "must be a valid resource quantity"))
		}
	}
	statusesPath := field.NewPath("status", "allocatedResourceStatus")
	for name, status := range pvc.Status.AllocatedResourceStatuses {
		errs = append(errs, validateClaimResourceKey(string(name), statusesPath)...)
		if !claimResizeStatuses.Has(status) {
			errs = append(errs, field.NotSupported(statusesPath, name, sets.List(claimResizeStatuses)))
		}
	}
	allocPath := field.NewPath("status", "allocatedResources")
	for name, q := range pvc.Status.AllocatedResources {
		if keyErrs := validateClaimResourceKey(string(name), allocPath); len(keyErrs) > 0 {
			errs = append(errs, keyErrs...)
			continue
		}
		p := allocPath.Key(string(name))
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(p, q.Value(), "must be a valid resource quantity"))
		} else {
			errs = append(errs, ValidateResourceQuantityValue(corev1.ResourceStorage, q, p)...)
		}
	}
	return errs
}

// validateClaimResourceKey validates a resource name of a claim's status:
// a qualified name, and storage if it is a native resource.
func validateClaimResourceKey(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	if len(errs) == 0 && IsNativeResource(corev1.ResourceName(name)) && corev1.ResourceName(name) != corev1.ResourceStorage {
		errs = append(errs, field.NotSupported(fldPath, name, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	return errs
}
