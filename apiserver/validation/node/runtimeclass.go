package node

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateRuntimeClass validates a new RuntimeClass: a DNS-subdomain name, a
// DNS-label handler, and valid overhead and scheduling. Unlike most kinds,
// upstream checks its metadata with k8s.io/apimachinery's rules only, so
// finalizers need not be standard ones.
func ValidateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&rc.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	for _, msg := range apimachineryvalidation.NameIsDNSLabel(rc.Handler, false) {
		errs = append(errs, field.Invalid(field.NewPath("handler"), rc.Handler, msg))
	}
	if rc.Overhead != nil {
		errs = append(errs, validateOverhead(rc.Overhead.PodFixed, field.NewPath("overhead"))...)
	}
	if s := rc.Scheduling; s != nil {
		schedPath := field.NewPath("scheduling")
		if s.NodeSelector != nil {
			errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, schedPath.Child("nodeSelector"))...)
		}
		errs = append(errs, validateTolerations(s.Tolerations, schedPath.Child("tolerations"))...)
	}
	return errs
}

// ValidateRuntimeClassUpdate validates an update of a RuntimeClass: the
// handler is immutable. As upstream, the create rules are not run again
// (overhead and scheduling may change without being rechecked).
func ValidateRuntimeClassUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, apimachineryvalidation.ValidateImmutableField(rc.Handler, old.Handler, field.NewPath("handler"))...)
}

// validateOverhead checks the fixed pod overhead as upstream does, by
// validating it as a container's resource limits at fldPath.limits.
func validateOverhead(overhead corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limitsPath := fldPath.Child("limits")
	cpuOrMemory, hugePages := false, false
	for name, q := range overhead {
		p := limitsPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(name, p)...)
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p, q.String(), apimachineryvalidation.IsNegativeErrorMsg))
		}
		if isIntegerResource(name) && q.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(p, q, "must be an integer"))
		}
		switch {
		case strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
			hugePages = true
		case name == corev1.ResourceCPU || name == corev1.ResourceMemory:
			cpuOrMemory = true
		}
	}
	if hugePages && !cpuOrMemory {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return errs
}

// validateContainerResourceName applies upstream's rules for a container
// resource name: a qualified name; unprefixed names must be standard
// container resources; prefixed names outside kubernetes.io must be valid
// extended resource names.
func validateContainerResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	s := string(name)
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(s) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	if len(errs) != 0 {
		return errs
	}
	if !strings.Contains(s, "/") {
		if !isStandardResource(s) {
			return field.ErrorList{field.Invalid(fldPath, name, "must be a standard resource type or fully qualified")}
		}
		if !isStandardContainerResource(s) {
			return field.ErrorList{field.Invalid(fldPath, name, "must be a standard resource for containers")}
		}
		return nil
	}
	if !isNativeResource(s) && !isExtendedResource(s) {
		return field.ErrorList{field.Invalid(fldPath, name, "doesn't follow extended resource name standard")}
	}
	return nil
}

// standardResources are upstream's standard resource names without a
// domain (quota and container resources).
var standardResources = map[string]bool{
	"cpu": true, "memory": true, "ephemeral-storage": true, "requests.cpu": true, "requests.memory": true,
	"requests.ephemeral-storage": true, "limits.cpu": true, "limits.memory": true, "limits.ephemeral-storage": true,
	"pods": true, "services": true, "replicationcontrollers": true, "resourcequotas": true, "secrets": true,
	"persistentvolumeclaims": true, "configmaps": true, "services.nodeports": true, "services.loadbalancers": true,
	"requests.storage": true,
}

func isStandardResource(name string) bool {
	return standardResources[name] || strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) ||
		strings.HasPrefix(name, "requests."+corev1.ResourceHugePagesPrefix) || strings.HasPrefix(name, "limits."+corev1.ResourceHugePagesPrefix)
}

func isStandardContainerResource(name string) bool {
	return name == "cpu" || name == "memory" || name == "ephemeral-storage" || strings.HasPrefix(name, corev1.ResourceHugePagesPrefix)
}

func isNativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, corev1.ResourceDefaultNamespacePrefix)
}

func isExtendedResource(name string) bool {
	if isNativeResource(name) || strings.HasPrefix(name, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+name)) == 0
}

// isIntegerResource reports the resources that only take whole numbers:
// extended resources (quota object counts cannot be container limits).
func isIntegerResource(name corev1.ResourceName) bool {
	return isExtendedResource(string(name))
}

var (
	tolerationOperators        = []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}
	numericTolerationOperators = []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists, corev1.TolerationOpLt, corev1.TolerationOpGt}
)

var taintEffects = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}

// validateTolerations applies upstream's pod toleration rules and, as
// RuntimeClass validation adds, rejects a toleration equal to an earlier
// one in key, operator, value and effect.
func validateTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	type listKey struct {
		key, operator, value, effect string
	}
	seen := map[listKey]bool{}
	for i, t := range tolerations {
		idxPath := fldPath.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, idxPath.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(idxPath.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		case corev1.TolerationOpLt, corev1.TolerationOpGt:
			// Upstream accepts the numeric operators only where a pod
			// validation option allows them, which RuntimeClass never sets.
			errs = append(errs, field.NotSupported(idxPath.Child("operator"), t.Operator, numericTolerationOperators))
		default:
			errs = append(errs, field.NotSupported(idxPath.Child("operator"), t.Operator, tolerationOperators))
		}
		if t.Effect != "" && !containsEffect(t.Effect) {
			errs = append(errs, field.NotSupported(idxPath.Child("effect"), t.Effect, taintEffects))
		}
		k := listKey{t.Key, string(t.Operator), t.Value, string(t.Effect)}
		if seen[k] {
			errs = append(errs, field.Duplicate(idxPath, t))
		}
		seen[k] = true
	}
	return errs
}

func containsEffect(e corev1.TaintEffect) bool {
	for _, known := range taintEffects {
		if e == known {
			return true
		}
	}
	return false
}
