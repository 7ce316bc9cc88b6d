package storage

import (
	"fmt"
	"slices"
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

const (
	// maxCSINodeIDLength is the longest CSINode driver node ID upstream
	// accepts (it allows the long form, 256, for every request since 1.28).
	maxCSINodeIDLength = 256
	// minNodeAllocatableUpdatePeriod is the shortest allocatable-count
	// refresh period a CSIDriver may ask for, in seconds.
	minNodeAllocatableUpdatePeriod = 10
	// minTokenExpiration and maxTokenExpiration bound a CSIDriver token
	// request's lifetime, in seconds.
	minTokenExpiration = 10 * 60
	maxTokenExpiration = 1 << 32
)

var (
	fsGroupPolicies = []string{
		string(storagev1.FileFSGroupPolicy),
		string(storagev1.NoneFSGroupPolicy),
		string(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
	}
	lifecycleModes = []string{string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral)}
)

// ValidateCSIDriver validates a new CSIDriver. The booleans that defaulting
// sets (attachRequired, podInfoOnMount, storageCapacity, seLinuxMount) are
// required.
func ValidateCSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&d.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateCSIDriverSpec(&d.Spec, field.NewPath("spec"))...)
}

// ValidateCSIDriverUpdate validates an update of a CSIDriver: the spec meets
// the create rules, and attachRequired and volumeLifecycleModes are
// immutable (upstream reports the former at "spec.attachedRequired").
func ValidateCSIDriverUpdate(d, old *storagev1.CSIDriver) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateCSIDriverSpec(&d.Spec, field.NewPath("spec"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(d.Spec.AttachRequired, old.Spec.AttachRequired, field.NewPath("spec", "attachedRequired"))...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(d.Spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, field.NewPath("spec", "volumeLifecycleModes"))...)
}

func validateCSIDriverSpec(spec *storagev1.CSIDriverSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	required := func(set bool, name string) {
		if !set {
			errs = append(errs, field.Required(fldPath.Child(name), ""))
		}
	}
	// Upstream's path for attachRequired is "attachedRequired".
	required(spec.AttachRequired != nil, "attachedRequired")
	required(spec.PodInfoOnMount != nil, "podInfoOnMount")
	required(spec.StorageCapacity != nil, "storageCapacity")
	if p := spec.FSGroupPolicy; p != nil && !slices.Contains(fsGroupPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(fldPath.Child("fsGroupPolicy"), *p, fsGroupPolicies))
	}
	errs = append(errs, validateTokenRequests(spec.TokenRequests, fldPath.Child("tokenRequests"))...)
	for _, mode := range spec.VolumeLifecycleModes {
		if !slices.Contains(lifecycleModes, string(mode)) {
			errs = append(errs, field.NotSupported(fldPath.Child("volumeLifecycleModes"), mode, lifecycleModes))
		}
	}
	required(spec.SELinuxMount != nil, "seLinuxMount")
	if p := spec.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < minNodeAllocatableUpdatePeriod {
		errs = append(errs, field.Invalid(fldPath.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	if s := spec.ServiceAccountTokenInSecrets; s != nil && len(spec.TokenRequests) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("serviceAccountTokenInSecrets"), *s, "serviceAccountTokenInSecrets is set but no tokenRequests are specified"))
	}
	return errs
}

// validateTokenRequests rejects a repeated audience (then skips that entry)
// and lifetimes outside [10 minutes, 2^32 seconds].
func validateTokenRequests(requests []storagev1.TokenRequest, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	audiences := sets.New[string]()
	for i, r := range requests {
		idxPath := fldPath.Index(i)
		if audiences.Has(r.Audience) {
			errs = append(errs, field.Duplicate(idxPath.Child("audience"), r.Audience))
			continue
		}
		audiences.Insert(r.Audience)
		if r.ExpirationSeconds == nil {
			continue
		}
		if *r.ExpirationSeconds < minTokenExpiration {
			errs = append(errs, field.Invalid(idxPath.Child("expirationSeconds"), *r.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *r.ExpirationSeconds > maxTokenExpiration {
			errs = append(errs, field.Invalid(idxPath.Child("expirationSeconds"), *r.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	return errs
}

// ValidateCSINode validates a new CSINode: named as a node, with valid,
// distinct drivers.
func ValidateCSINode(n *storagev1.CSINode) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&n.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateCSINodeDrivers(n.Spec.Drivers)...)
}

func validateCSINodeDrivers(drivers []storagev1.CSINodeDriver) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, d := range drivers {
		errs = append(errs, validateCSINodeDriver(d, seen, field.NewPath("spec", "drivers").Index(i))...)
	}
	return errs
}

// ValidateCSINodeUpdate validates an update of a CSINode: the create rules
// hold, and a driver that stays may not change except in its allocatable
// count (upstream's MutableCSINodeAllocatableCount, on in 1.37).
func ValidateCSINodeUpdate(n, old *storagev1.CSINode) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateCSINodeDrivers(n.Spec.Drivers)...)
	for _, oldDriver := range old.Spec.Drivers {
		for _, newDriver := range n.Spec.Drivers {
			if oldDriver.Name != newDriver.Name {
				continue
			}
			o, d := oldDriver.DeepCopy(), newDriver.DeepCopy()
			o.Allocatable, d.Allocatable = nil, nil
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(d, o, field.NewPath("spec", "drivers"))...)
		}
	}
	return errs
}

func validateCSINodeDriver(d storagev1.CSINodeDriver, seen sets.Set[string], fldPath *field.Path) field.ErrorList {
	errs := validateCSIDriverName(d.Name, fldPath.Child("name"))
	idPath := fldPath.Child("nodeID")
	if d.NodeID == "" {
		errs = append(errs, field.Required(idPath, d.NodeID))
	}
	if len(d.NodeID) > maxCSINodeIDLength {
		errs = append(errs, field.Invalid(idPath, d.NodeID, fmt.Sprintf("must be %d characters or less", maxCSINodeIDLength)))
	}
	if a := d.Allocatable; a != nil && a.Count != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*a.Count), fldPath.Child("allocatable", "count"))...)
	}
	if seen.Has(d.Name) {
		errs = append(errs, field.Duplicate(fldPath.Child("name"), d.Name))
	}
	seen.Insert(d.Name)
	keys := sets.New[string]()
	for _, key := range d.TopologyKeys {
		// Upstream reports topology key errors at the driver's path.
		if key == "" {
			errs = append(errs, field.Required(fldPath, key))
		}
		if keys.Has(key) {
			errs = append(errs, field.Duplicate(fldPath, key))
		}
		keys.Insert(key)
		for _, msg := range validation.IsQualifiedName(key) {
			errs = append(errs, field.Invalid(fldPath, key, msg))
		}
	}
	return errs
}

// validateCSIDriverName checks a CSI driver name: required, at most 63
// characters, a DNS subdomain once lower-cased.
func validateCSIDriverName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// ValidateCSIStorageCapacity validates a new CSIStorageCapacity: a
// namespaced object with a valid topology selector, a storage class name
// and a non-negative capacity.
func ValidateCSIStorageCapacity(c *storagev1.CSIStorageCapacity) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&c.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateCSIStorageCapacityFields(c, metav1validation.LabelSelectorValidationOptions{})...)
}

// ValidateCSIStorageCapacityUpdate validates an update of a
// CSIStorageCapacity: the create rules still hold (tolerating selector label
// values the old object already had), and its node topology and storage
// class are immutable.
func ValidateCSIStorageCapacityUpdate(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{
		AllowInvalidLabelValueInSelector: metav1validation.LabelSelectorHasInvalidLabelValue(old.NodeTopology),
	}
	errs := metavalidation.ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateCSIStorageCapacityFields(c, opts)...)
	if !apiequality.Semantic.DeepEqual(c.NodeTopology, old.NodeTopology) {
		errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	if c.StorageClassName != old.StorageClassName {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	return errs
}

func validateCSIStorageCapacityFields(c *storagev1.CSIStorageCapacity, opts metav1validation.LabelSelectorValidationOptions) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(c.NodeTopology, opts, field.NewPath("nodeTopology"))
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(c.StorageClassName, false) {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, msg))
	}
	if c.Capacity != nil && c.Capacity.Sign() < 0 {
		errs = append(errs, field.Invalid(field.NewPath("capacity"), c.Capacity.String(), apimachineryvalidation.IsNegativeErrorMsg))
	}
	return errs
}
