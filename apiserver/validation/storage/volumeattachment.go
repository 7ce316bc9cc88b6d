package storage

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

const (
	// maxAttachmentMetadataSize bounds the summed length of the keys and
	// values of status.attachmentMetadata.
	maxAttachmentMetadataSize = 256 * (1 << 10)
	// maxVolumeErrorMessage bounds a volume error's message.
	maxVolumeErrorMessage = 1024
)

var accessModes = []corev1.PersistentVolumeAccessMode{
	corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod,
}

// ValidateVolumeAttachment validates a new VolumeAttachment: its attacher
// (a CSI driver name), exactly one source, node name and status, with the
// stricter v1 checks upstream adds for new v1 objects.
func ValidateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&va.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateVolumeAttachmentFields(va)...)
}

// ValidateVolumeAttachmentUpdate validates an update of a VolumeAttachment:
// the create rules hold and the spec is immutable.
func ValidateVolumeAttachmentUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&va.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateVolumeAttachmentFields(va)...)
	if !apiequality.Semantic.DeepEqual(va.Spec, old.Spec) {
		errs = append(errs, field.Invalid(field.NewPath("spec"), va.Spec, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	return errs
}

// ValidateVolumeAttachmentStatusUpdate validates a write to the status
// subresource; upstream's status strategy validates as an update does (its
// PrepareForUpdate has already restored the old spec).
func ValidateVolumeAttachmentStatusUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	return ValidateVolumeAttachmentUpdate(va, old)
}

func validateVolumeAttachmentFields(va *storagev1.VolumeAttachment) field.ErrorList {
	specPath := field.NewPath("spec")
	// Upstream checks the attacher twice (as required, then as a v1 CSI
	// driver name); the errors of an empty one are reported once here.
	errs := validateCSIDriverName(va.Spec.Attacher, specPath.Child("attacher"))
	errs = append(errs, validateAttachmentSource(&va.Spec.Source, specPath.Child("source"))...)
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(va.Spec.NodeName, false) {
		errs = append(errs, field.Invalid(specPath.Child("nodeName"), va.Spec.NodeName, msg))
	}
	statusPath := field.NewPath("status")
	size := 0
	for k, v := range va.Status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachmentMetadataSize {
		errs = append(errs, field.TooLong(statusPath.Child("attachmentMetadata"), "", maxAttachmentMetadataSize))
	}
	errs = append(errs, validateVolumeError(va.Status.AttachError, statusPath.Child("attachError"))...)
	return append(errs, validateVolumeError(va.Status.DetachError, statusPath.Child("detachError"))...)
}

func validateAttachmentSource(src *storagev1.VolumeAttachmentSource, fldPath *field.Path) field.ErrorList {
	const exactlyOne = "must specify exactly one of inlineVolumeSpec and persistentVolumeName"
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		return field.ErrorList{field.Required(fldPath, exactlyOne)}
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		return field.ErrorList{field.Forbidden(fldPath, exactlyOne)}
	case src.PersistentVolumeName != nil:
		name := *src.PersistentVolumeName
		if name == "" {
			return field.ErrorList{field.Required(fldPath.Child("persistentVolumeName"), "must specify non empty persistentVolumeName")}
		}
		var errs field.ErrorList
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
			errs = append(errs, field.Invalid(fldPath.Child("persistentVolumeName"), name, msg))
		}
		return errs
	default:
		return validateInlineVolumeSpec(src.InlineVolumeSpec, fldPath.Child("inlineVolumeSpec"))
	}
}

// validateInlineVolumeSpec applies upstream's inline PersistentVolumeSpec
// rules: a CSI source and no claim, capacity, node affinity or storage
// class; access modes; Retain as the only reclaim policy; Filesystem as the
// only volume mode. Other volume sources get only the CSI requirement.
func validateInlineVolumeSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	const inline = "in the context of inline volumes"
	var errs field.ErrorList
	if spec.ClaimRef != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("claimRef"), "may not be specified "+inline))
	}
	if len(spec.Capacity) != 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("capacity"), "may not be specified "+inline))
	}
	if spec.CSI == nil {
		errs = append(errs, field.Required(fldPath.Child("csi"), "has to be specified "+inline))
	}
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), ""))
	}
	rwop, other := false, false
	for _, mode := range spec.AccessModes {
		switch {
		case mode == corev1.ReadWriteOncePod:
			rwop = true
		case containsMode(mode):
			other = true
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("accessModes"), mode, accessModes))
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(fldPath.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}
	if p := spec.PersistentVolumeReclaimPolicy; p != "" && p != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may only be "+string(corev1.PersistentVolumeReclaimRetain)+" "+inline))
	}
	if spec.NodeAffinity != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("nodeAffinity"), "may not be specified "+inline))
	}
	if csi := spec.CSI; csi != nil {
		errs = append(errs, validateCSIVolumeSource(csi, fldPath.Child("csi"))...)
	}
	if spec.StorageClassName != "" {
		errs = append(errs, field.Forbidden(fldPath.Child("storageClassName"), "may not be specified "+inline))
	}
	if m := spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.Forbidden(fldPath.Child("volumeMode"), "may not specify volumeMode other than "+string(corev1.PersistentVolumeFilesystem)+" "+inline))
	}
	return errs
}

func containsMode(mode corev1.PersistentVolumeAccessMode) bool {
	return sets.New(accessModes...).Has(mode)
}

func validateCSIVolumeSource(csi *corev1.CSIPersistentVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := validateCSIDriverName(csi.Driver, fldPath.Child("driver"))
	if csi.VolumeHandle == "" {
		errs = append(errs, field.Required(fldPath.Child("volumeHandle"), ""))
	}
	refs := []struct {
		name string
		ref  *corev1.SecretReference
	}{
		{"controllerPublishSecretRef", csi.ControllerPublishSecretRef},
		{"controllerExpandSecretRef", csi.ControllerExpandSecretRef},
		{"nodePublishSecretRef", csi.NodePublishSecretRef},
		{"nodeExpandSecretRef", csi.NodeExpandSecretRef},
	}
	for _, r := range refs {
		if r.ref != nil {
			errs = append(errs, validateSecretReference(r.ref, fldPath.Child(r.name))...)
		}
	}
	return errs
}

func validateSecretReference(ref *corev1.SecretReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(ref.Name) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), ref.Name, msg))
		}
	}
	if ref.Namespace == "" {
		errs = append(errs, field.Required(fldPath.Child("namespace"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Label(ref.Namespace) {
			errs = append(errs, field.Invalid(fldPath.Child("namespace"), ref.Namespace, msg))
		}
	}
	return errs
}

// validateVolumeError bounds a message (upstream reports the metadata limit
// as the maximum) and rejects a negative error code.
func validateVolumeError(e *storagev1.VolumeError, fldPath *field.Path) field.ErrorList {
	if e == nil {
		return nil
	}
	var errs field.ErrorList
	if len(e.Message) > maxVolumeErrorMessage {
		errs = append(errs, field.TooLong(fldPath.Child("message"), "", maxAttachmentMetadataSize))
	}
	if e.ErrorCode != nil && *e.ErrorCode < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
	}
	return errs
}
