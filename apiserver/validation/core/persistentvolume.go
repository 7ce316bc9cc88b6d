package core

import (
	"fmt"
	"path"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

var (
	pvAccessModes     = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)
	pvReclaimPolicies = sets.New(corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)
	pvVolumeModes     = sets.New(corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)

	// betaToGALabels are the node labels a PV's node affinity may switch
	// from their beta key to the GA one on update.
	betaToGALabels = map[string]string{
		corev1.LabelFailureDomainBetaZone:   corev1.LabelTopologyZone,
		corev1.LabelFailureDomainBetaRegion: corev1.LabelTopologyRegion,
		"beta.kubernetes.io/os":             corev1.LabelOSStable,
		"beta.kubernetes.io/arch":           corev1.LabelArchStable,
		corev1.LabelInstanceType:            corev1.LabelInstanceTypeStable,
	}
)

// pvOptions are the allowances an update inherits from the stored PV.
type pvOptions struct {
	// allowInvalidNodeAffinityValues keeps accepting node affinity
	// values that are not label values, when the stored PV has them.
	allowInvalidNodeAffinityValues bool
}

// ValidatePersistentVolume validates a new PersistentVolume: a
// cluster-scoped object named as a DNS subdomain, with access modes, a
// storage capacity, one valid volume source (local ones with node
// affinity), a reclaim policy, class names and a volume mode; mount
// options only for sources that support them. VolumeAttributesClass is GA,
// so volumeAttributesClassName is always checked.
func ValidatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	return validatePersistentVolume(pv, pvOptions{})
}

func validatePersistentVolume(pv *corev1.PersistentVolume, opts pvOptions) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&pv.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validatePersistentVolumeSpec(&pv.Spec, pv.Name, opts, field.NewPath("spec"))...)
	// Upstream's strategy adds this check of pkg/volume/validation.
	return append(errs, validatePVMountOptions(pv)...)
}

func validatePersistentVolumeSpec(spec *corev1.PersistentVolumeSpec, pvName string, opts pvOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validatePVAccessModes(spec.AccessModes, fldPath.Child("accessModes"), "")...)

	capPath := fldPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for name, q := range spec.Capacity {
		p := capPath.Key(string(name))
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(p, q.Value(), "must be a valid resource quantity"))
		}
		errs = append(errs, ValidatePositiveQuantityValue(q, p)...)
	}

	if policy := spec.PersistentVolumeReclaimPolicy; policy != "" && !pvReclaimPolicies.Has(policy) {
		errs = append(errs, field.NotSupported(fldPath.Child("persistentVolumeReclaimPolicy"), policy, sets.List(pvReclaimPolicies)))
	}

	hasAffinity := false
	if na := spec.NodeAffinity; na != nil {
		hasAffinity = true
		if na.Required == nil {
			errs = append(errs, field.Required(fldPath.Child("nodeAffinity", "required"), "must specify required node constraints"))
		} else {
			errs = append(errs, validatePVNodeSelector(na.Required, opts.allowInvalidNodeAffinityValues, fldPath.Child("nodeAffinity", "required"))...)
		}
	}
	local, sourceErrs := validatePVSources(&spec.PersistentVolumeSource, pvName, fldPath)
	errs = append(errs, sourceErrs...)
	if local && !hasAffinity {
		errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
	}

	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, nameErrs(spec.StorageClassName, apimachineryvalidation.NameIsDNSSubdomain, fldPath.Child("storageClassName"))...)
	}
	if mode := spec.VolumeMode; mode != nil && !pvVolumeModes.Has(*mode) {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *mode, sets.List(pvVolumeModes)))
	}
	if vac := spec.VolumeAttributesClassName; vac != nil {
		p := fldPath.Child("volumeAttributesClassName")
		if *vac == "" {
			errs = append(errs, field.Required(p, "an empty string is disallowed"))
		} else {
			errs = append(errs, nameErrs(*vac, apimachineryvalidation.NameIsDNSSubdomain, p)...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(fldPath.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

// validatePVAccessModes validates the access modes of a PV or claim: at
// least one (requiredMsg is the detail when there is none), each known,
// and ReadWriteOncePod alone.
func validatePVAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path, requiredMsg string) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(fldPath, requiredMsg))
	}
	oncePod, others := false, false
	for _, mode := range modes {
		switch {
		case !pvAccessModes.Has(mode):
			errs = append(errs, field.NotSupported(fldPath, mode, sets.List(pvAccessModes)))
		case mode == corev1.ReadWriteOncePod:
			oncePod = true
		default:
			others = true
		}
	}
	if oncePod && others {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// validatePVMountOptions forbids mount options, in the field or the beta
// annotation, on volume sources that cannot take them.
func validatePVMountOptions(pv *corev1.PersistentVolume) field.ErrorList {
	s := &pv.Spec.PersistentVolumeSource
	if s.GCEPersistentDisk != nil || s.AWSElasticBlockStore != nil || s.Glusterfs != nil || s.NFS != nil ||
		s.RBD != nil || s.Quobyte != nil || s.ISCSI != nil || s.Cinder != nil || s.CephFS != nil ||
		s.AzureFile != nil || s.VsphereVolume != nil || s.AzureDisk != nil || s.PhotonPersistentDisk != nil ||
		s.Local != nil || s.CSI != nil || s.FC != nil || s.ScaleIO != nil {
		return nil
	}
	const msg = "may not specify mount options for this volume type"
	var errs field.ErrorList
	if _, ok := pv.Annotations[corev1.MountOptionAnnotation]; ok {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations", corev1.MountOptionAnnotation), msg))
	}
	if pv.Spec.MountOptions != nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "mountOptions"), msg))
	}
	return errs
}

// validatePVNodeSelector validates the required node selector of a PV's
// node affinity: at least one term, each valid.
func validatePVNodeSelector(ns *corev1.NodeSelector, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	termsPath := fldPath.Child("nodeSelectorTerms")
	if len(ns.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(termsPath, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range ns.NodeSelectorTerms {
		errs = append(errs, ValidateNodeSelectorTerm(term, allowInvalidValues, termsPath.Index(i))...)
	}
	return errs
}

// hasInvalidNodeAffinityValues reports a label expression value in terms
// that is not a valid label value.
func hasInvalidNodeAffinityValues(terms []corev1.NodeSelectorTerm) bool {
	for _, term := range terms {
		for _, req := range term.MatchExpressions {
			for _, v := range req.Values {
				if len(validation.IsValidLabelValue(v)) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// ValidatePersistentVolumeUpdate validates an update of a PersistentVolume:
// a valid PV whose source and volume mode stay as created (a CSI
// controllerExpandSecretRef may be added), whose node affinity, once set,
// changes only from beta to GA label keys, and whose
// volumeAttributesClassName is not unset.
func ValidatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	opts := pvOptions{}
	if na := old.Spec.NodeAffinity; na != nil && na.Required != nil {
		opts.allowInvalidNodeAffinityValues = hasInvalidNodeAffinityValues(na.Required.NodeSelectorTerms)
	}
	errs := metavalidation.ValidateObjectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePersistentVolume(pv, opts)...)

	newSource := &pv.Spec.PersistentVolumeSource
	if old.Spec.CSI != nil && old.Spec.CSI.ControllerExpandSecretRef == nil && pv.Spec.CSI != nil && pv.Spec.CSI.ControllerExpandSecretRef != nil {
		newSource = newSource.DeepCopy()
		newSource.CSI.ControllerExpandSecretRef = nil
	}
	if !apiequality.Semantic.DeepEqual(*newSource, old.Spec.PersistentVolumeSource) {
		diff := cmp.Diff(old.Spec.PersistentVolumeSource, *newSource)
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"),
			fmt.Sprintf("spec.persistentvolumesource is immutable after creation\n%v", diff)))
	}
	// Upstream's path lacks the "spec." prefix.
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil && !nodeAffinityEqualModuloGALabels(pv.Spec.NodeAffinity, old.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity,
			apimachineryvalidation.FieldImmutableErrorMsg+", except for updating from beta label to GA"))
	}
	if old.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

// nodeAffinityEqualModuloGALabels compares two node affinities, letting a
// requirement key of the old one have become its GA equivalent.
func nodeAffinityEqualModuloGALabels(na, old *corev1.VolumeNodeAffinity) bool {
	if na == nil || old == nil || na.Required == nil || old.Required == nil {
		return apiequality.Semantic.DeepEqual(na, old)
	}
	if len(na.Required.NodeSelectorTerms) != len(old.Required.NodeSelectorTerms) {
		return false
	}
	masked := old.DeepCopy()
	for i, term := range masked.Required.NodeSelectorTerms {
		newTerm := na.Required.NodeSelectorTerms[i]
		if len(term.MatchExpressions) != len(newTerm.MatchExpressions) {
			return false
		}
		for j := range term.MatchExpressions {
			oldKey, newKey := term.MatchExpressions[j].Key, newTerm.MatchExpressions[j].Key
			if oldKey != newKey && betaToGALabels[oldKey] == newKey {
				term.MatchExpressions[j].Key = newKey
			}
		}
	}
	return apiequality.Semantic.DeepEqual(na, masked)
}

// ValidatePersistentVolumeStatusUpdate validates an update through
// persistentvolumes/status, which needs a resourceVersion.
func ValidatePersistentVolumeStatusUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta)
	if pv.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	return errs
}
