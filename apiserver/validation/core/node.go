package core

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	schedulinghelper "k8s.io/component-helpers/scheduling/corev1"
	netutils "k8s.io/utils/net"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// ValidateNode validates a new Node: a cluster-scoped object named as a DNS
// subdomain, with valid taints (in spec and in the legacy annotation),
// capacity and allocatable quantities, and pod CIDRs, at most one per IP
// family. Other status fields are optional and filled in later.
func ValidateNode(n *corev1.Node) field.ErrorList {
	metaPath := field.NewPath("metadata")
	errs := metavalidation.ValidateObjectMeta(&n.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validateNodeAnnotations(n.Annotations, metaPath.Child("annotations"))...)
	// Upstream reports spec.taints under metadata.
	errs = append(errs, validateNodeTaints(n.Spec.Taints, metaPath.Child("taints"))...)
	errs = append(errs, validateNodeResources(n)...)

	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 {
		return errs
	}
	cidrsPath := field.NewPath("spec", "podCIDRs")
	for i, cidr := range cidrs {
		errs = append(errs, validateLegacyCIDR(cidrsPath.Index(i), cidr)...)
	}
	if len(cidrs) > 1 {
		dualStack, err := netutils.IsDualStackCIDRStrings(cidrs)
		if err != nil {
			errs = append(errs, field.InternalError(cidrsPath, fmt.Errorf("invalid PodCIDRs. failed to check with dual stack with error:%v", err)))
		}
		if !dualStack || len(cidrs) > 2 {
			errs = append(errs, field.Invalid(cidrsPath, cidrs, "may specify no more than one CIDR for each IP family"))
		}
		seen := sets.New[string]()
		for i, cidr := range cidrs {
			if seen.Has(cidr) {
				errs = append(errs, field.Duplicate(cidrsPath.Index(i), cidr))
			}
			seen.Insert(cidr)
		}
	}
	return errs
}

// ValidateNodeUpdate validates an update of a Node. Anyone may update its
// status, so most of it is free; the pod CIDRs and providerID may only be
// set once, externalID never changes, and taints, the config source and
// status addresses (unique) must stay valid. Pod CIDRs are checked for
// format only on create, as upstream does.
func ValidateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	metaPath := field.NewPath("metadata")
	errs := metavalidation.ValidateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateNodeAnnotations(n.Annotations, metaPath.Child("annotations"))...)
	errs = append(errs, validateNodeResources(n)...)

	seen := make(map[corev1.NodeAddress]bool, len(n.Status.Addresses))
	for i, address := range n.Status.Addresses {
		if seen[address] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), address))
		}
		seen[address] = true
	}

	// The controller manager may assign CIDRs to a node that has none.
	if oldCIDRs := old.Spec.PodCIDRs; len(oldCIDRs) > 0 {
		const msg = "node updates may not change podCIDR except from \"\" to valid"
		cidrsPath := field.NewPath("spec", "podCIDRs")
		if len(oldCIDRs) != len(n.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(cidrsPath, msg))
		} else {
			for i := range oldCIDRs {
				if oldCIDRs[i] != n.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(cidrsPath, msg))
				}
			}
		}
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if n.Spec.ConfigSource != nil {
		errs = append(errs, validateNodeConfigSource(n.Spec.ConfigSource, true, field.NewPath("spec", "configSource"))...)
	}
	if cfg := n.Status.Config; cfg != nil {
		configPath := field.NewPath("status", "config")
		for _, src := range []struct {
			name   string
			source *corev1.NodeConfigSource
		}{{"assigned", cfg.Assigned}, {"active", cfg.Active}, {"lastKnownGood", cfg.LastKnownGood}} {
			if src.source != nil {
				errs = append(errs, validateNodeConfigSource(src.source, false, configPath.Child(src.name))...)
			}
		}
	}
	errs = append(errs, validateNodeTaints(n.Spec.Taints, metaPath.Child("taints"))...)
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

// ValidateNodeStatusUpdate validates an update through nodes/status, with
// the rules of ValidateNodeUpdate, as upstream's status strategy does.
func ValidateNodeStatusUpdate(n, old *corev1.Node) field.ErrorList {
	return ValidateNodeUpdate(n, old)
}

// validateNodeAnnotations validates the legacy annotations that carry
// taints and preferred pod avoidance as JSON.
func validateNodeAnnotations(annotations map[string]string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if value := annotations[corev1.TaintsAnnotationKey]; value != "" {
		var taints []corev1.Taint
		if err := json.Unmarshal([]byte(value), &taints); err != nil {
			errs = append(errs, field.Invalid(fldPath, corev1.TaintsAnnotationKey, err.Error()))
		} else {
			errs = append(errs, validateNodeTaints(taints, fldPath.Child(corev1.TaintsAnnotationKey))...)
		}
	}
	if annotations[corev1.PreferAvoidPodsAnnotationKey] != "" {
		avoids, err := schedulinghelper.GetAvoidPodsFromNodeAnnotations(annotations)
		if err != nil {
			return append(errs, field.Invalid(fldPath.Child("AvoidPods"), corev1.PreferAvoidPodsAnnotationKey, err.Error()))
		}
		for i, entry := range avoids.PreferAvoidPods {
			p := fldPath.Child(corev1.PreferAvoidPodsAnnotationKey).Index(i)
			controller := entry.PodSignature.PodController
			switch {
			case controller == nil:
				errs = append(errs, field.Required(p.Child("PodSignature"), ""))
			case controller.Controller == nil || !*controller.Controller:
				errs = append(errs, field.Invalid(p.Child("PodSignature", "PodController", "Controller"), false, "must point to a controller"))
			}
		}
	}
	return errs
}

// validateNodeTaints validates taints: a label-name key, a label value, an
// effect, and unique (key, effect) pairs.
func validateNodeTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	keysByEffect := map[corev1.TaintEffect]sets.Set[string]{}
	for i, taint := range taints {
		p := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(taint.Key, p.Child("key"))...)
		if msgs := validation.IsValidLabelValue(taint.Value); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("value"), taint.Value, strings.Join(msgs, ";")))
		}
		errs = append(errs, nodeTaintEffectErrs(taint.Effect, p.Child("effect"))...)
		if keysByEffect[taint.Effect].Has(taint.Key) {
			dup := field.Duplicate(p, taint)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if keysByEffect[taint.Effect] == nil {
			keysByEffect[taint.Effect] = sets.New[string]()
		}
		keysByEffect[taint.Effect].Insert(taint.Key)
	}
	return errs
}

// nodeTaintEffectErrs validates the effect of a node taint: required, and
// one of NoSchedule, PreferNoSchedule and NoExecute (NoScheduleNoAdmit is
// reserved).
func nodeTaintEffectErrs(effect corev1.TaintEffect, fldPath *field.Path) field.ErrorList {
	switch effect {
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, effect,
		[]corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute})}
}

// validateNodeResources validates the quantities of capacity and
// allocatable. Upstream names the resource as a path element, not a key.
func validateNodeResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for name, q := range n.Status.Capacity {
		errs = append(errs, ValidateResourceQuantityValue(name, q, field.NewPath("status", "capacity", string(name)))...)
	}
	for name, q := range n.Status.Allocatable {
		errs = append(errs, ValidateResourceQuantityValue(name, q, field.NewPath("status", "allocatable", string(name)))...)
	}
	return errs
}

// validateNodeConfigSource validates the deprecated dynamic kubelet config
// source, kept for compatibility: exactly one reference, a ConfigMap whose
// uid and resourceVersion are unset in spec (inSpec) and set in status.
func validateNodeConfigSource(source *corev1.NodeConfigSource, inSpec bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	count := 0
	if cm := source.ConfigMap; cm != nil {
		count++
		p := fldPath.Child("configMap")
		if inSpec {
			if cm.UID != "" {
				errs = append(errs, field.Forbidden(p.Child("uid"), "uid must not be set in spec"))
			}
			if cm.ResourceVersion != "" {
				errs = append(errs, field.Forbidden(p.Child("resourceVersion"), "resourceVersion must not be set in spec"))
			}
		} else {
			if cm.UID == "" {
				errs = append(errs, field.Required(p.Child("uid"), "uid must be set in status"))
			}
			if cm.ResourceVersion == "" {
				errs = append(errs, field.Required(p.Child("resourceVersion"), "resourceVersion must be set in status"))
			}
		}
		errs = append(errs, validateConfigMapNodeConfigSource(cm, p)...)
	}
	if count != 1 {
		errs = append(errs, field.Invalid(fldPath, source, "exactly one reference subfield must be non-nil"))
	}
	return errs
}

// validateConfigMapNodeConfigSource checks the ConfigMap reference of a
// config source: namespace, name and a config-key kubeletConfigKey.
func validateConfigMapNodeConfigSource(cm *corev1.ConfigMapNodeConfigSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if cm.Namespace == "" {
		errs = append(errs, field.Required(fldPath.Child("namespace"), "namespace must be set"))
	} else {
		errs = append(errs, nameErrs(cm.Namespace, apimachineryvalidation.ValidateNamespaceName, fldPath.Child("namespace"))...)
	}
	if cm.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "name must be set"))
	} else {
		errs = append(errs, nameErrs(cm.Name, apimachineryvalidation.NameIsDNSSubdomain, fldPath.Child("name"))...)
	}
	if cm.KubeletConfigKey == "" {
		errs = append(errs, field.Required(fldPath.Child("kubeletConfigKey"), "kubeletConfigKey must be set"))
	} else {
		for _, msg := range validation.IsConfigMapKey(cm.KubeletConfigKey) {
			errs = append(errs, field.Invalid(fldPath.Child("kubeletConfigKey"), cm.KubeletConfigKey, msg))
		}
	}
	return errs
}
