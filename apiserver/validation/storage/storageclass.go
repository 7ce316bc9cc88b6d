package storage

import (
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
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
	// maxParametersSize bounds the summed length of a class's parameter keys
	// and values.
	maxParametersSize = 256 * (1 << 10)
	// maxParameters bounds the number of a class's parameters.
	maxParameters = 512
)

var (
	reclaimPolicies = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}
	bindingModes    = []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}
)

// ValidateStorageClass validates a new StorageClass: its provisioner,
// parameters, reclaim policy, binding mode and allowed topologies. The
// reclaim policy and binding mode are set by defaulting before this runs.
func ValidateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&sc.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateStorageClassFields(sc)...)
}

func validateStorageClassFields(sc *storagev1.StorageClass) field.ErrorList {
	errs := validateProvisioner(sc.Provisioner, field.NewPath("provisioner"))
	errs = append(errs, validateParameters(sc.Parameters, true, field.NewPath("parameters"))...)
	if sc.ReclaimPolicy != nil && *sc.ReclaimPolicy != "" && !slices.Contains(reclaimPolicies, string(*sc.ReclaimPolicy)) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *sc.ReclaimPolicy, reclaimPolicies))
	}
	switch mode := sc.VolumeBindingMode; {
	case mode == nil:
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	case !slices.Contains(bindingModes, string(*mode)):
		errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), *mode, bindingModes))
	}
	return append(errs, validateAllowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
}

// ValidateStorageClassUpdate validates an update of a StorageClass: its
// create rules still hold (upstream's strategy runs both), and its
// parameters, provisioner, reclaim policy and binding mode are immutable.
func ValidateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateStorageClassFields(sc)...)
	if !reflect.DeepEqual(old.Parameters, sc.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !apiequality.Semantic.DeepEqual(sc.ReclaimPolicy, old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, apimachineryvalidation.ValidateImmutableField(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

// ValidateVolumeAttributesClass validates a new VolumeAttributesClass: a
// driver name and at least one parameter.
func ValidateVolumeAttributesClass(vac *storagev1.VolumeAttributesClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&vac.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validateProvisioner(vac.DriverName, field.NewPath("driverName"))...)
	return append(errs, validateParameters(vac.Parameters, false, field.NewPath("parameters"))...)
}

// ValidateVolumeAttributesClassUpdate validates an update of a
// VolumeAttributesClass: its driver and parameters are immutable, and the
// create rules still hold.
func ValidateVolumeAttributesClassUpdate(vac, old *storagev1.VolumeAttributesClass) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&vac.ObjectMeta, &old.ObjectMeta)
	if vac.DriverName != old.DriverName {
		errs = append(errs, field.Forbidden(field.NewPath("driverName"), "updates to driverName are forbidden."))
	}
	if !reflect.DeepEqual(old.Parameters, vac.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	return append(errs, ValidateVolumeAttributesClass(vac)...)
}

// validateProvisioner checks a provisioner or driver name: required, and a
// qualified name once lower-cased.
func validateProvisioner(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, name)}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(fldPath, strings.ToLower(name), msg))
	}
	return errs
}

// validateParameters bounds a class's parameters in number and total size;
// keys may not be empty, and with allowEmpty false there must be one.
func validateParameters(params map[string]string, allowEmpty bool, fldPath *field.Path) field.ErrorList {
	if len(params) > maxParameters {
		return field.ErrorList{field.TooLong(fldPath, "", maxParameters)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxParametersSize {
		errs = append(errs, field.TooLong(fldPath, "", maxParametersSize))
	}
	if !allowEmpty && len(params) == 0 {
		errs = append(errs, field.Required(fldPath, "must contain at least one key/value pair"))
	}
	return errs
}

// validateAllowedTopologies checks each topology selector term and reports a
// term equal to an earlier one. As upstream, the comparison list starts with
// one empty placeholder per term, so every term without expressions is
// reported as a duplicate once per term in the list (and once per earlier
// empty term).
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	if len(terms) == 0 {
		return nil
	}
	var errs field.ErrorList
	seen := make([]map[string]sets.Set[string], len(terms))
	for i, term := range terms {
		exprs, termErrs := validateTopologySelectorTerm(term, fldPath.Index(i))
		errs = append(errs, termErrs...)
		for _, earlier := range seen {
			if apiequality.Semantic.DeepEqual(exprs, earlier) {
				errs = append(errs, field.Duplicate(fldPath.Index(i).Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// validateTopologySelectorTerm checks one term's label requirements (a label
// key, at least one value, no repeated value, no repeated key) and returns
// the term as a key → values map.
func validateTopologySelectorTerm(term corev1.TopologySelectorTerm, fldPath *field.Path) (map[string]sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	exprs := map[string]sets.Set[string]{}
	for i, req := range term.MatchLabelExpressions {
		idxPath := fldPath.Child("matchLabelExpressions").Index(i)
		values := sets.New[string]()
		if len(req.Values) == 0 {
			errs = append(errs, field.Required(idxPath.Child("values"), ""))
		}
		for j, v := range req.Values {
			if values.Has(v) {
				errs = append(errs, field.Duplicate(idxPath.Child("values").Index(j), v))
			}
			values.Insert(v)
		}
		errs = append(errs, metav1validation.ValidateLabelName(req.Key, idxPath.Child("key"))...)
		if _, dup := exprs[req.Key]; dup {
			errs = append(errs, field.Duplicate(idxPath.Child("key"), req.Key))
		}
		exprs[req.Key] = values
	}
	return exprs, errs
}
