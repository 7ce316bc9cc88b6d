package flowcontrol

import (
	"fmt"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/apiserver/pkg/util/shufflesharding"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// maxQueues bounds a priority level's queue count (10^7).
const maxQueues int32 = 10 * 1000 * 1000

var (
	enablements   = []string{string(flowcontrolv1.PriorityLevelEnablementExempt), string(flowcontrolv1.PriorityLevelEnablementLimited)}
	responseTypes = []string{string(flowcontrolv1.LimitResponseTypeQueue), string(flowcontrolv1.LimitResponseTypeReject)}
)

// ValidatePriorityLevelConfiguration validates a new
// PriorityLevelConfiguration: its spec (type Exempt exactly for "exempt"),
// that a mandatory level keeps its fixed spec (the exempt level may change
// only spec.exempt), and its status conditions. A zero nominal concurrency
// share is allowed, as upstream allows it since 1.30.
func ValidatePriorityLevelConfiguration(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&pl.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validatePriorityLevelFields(pl)...)
}

// ValidatePriorityLevelConfigurationUpdate validates an update of a
// PriorityLevelConfiguration: the create rules hold for the new object.
func ValidatePriorityLevelConfigurationUpdate(pl, old *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&pl.ObjectMeta, &old.ObjectMeta)
	return append(errs, validatePriorityLevelFields(pl)...)
}

// ValidatePriorityLevelConfigurationStatusUpdate validates a write to the
// status subresource: only the conditions are checked.
func ValidatePriorityLevelConfigurationStatusUpdate(pl, _ *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	return validateConditionTypes(priorityLevelConditionTypes(pl.Status.Conditions), field.NewPath("status"))
}

func validatePriorityLevelFields(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validatePriorityLevelSpec(&pl.Spec, pl.Name, specPath)
	errs = append(errs, validateMandatoryPriorityLevel(pl, specPath)...)
	return append(errs, validateConditionTypes(priorityLevelConditionTypes(pl.Status.Conditions), field.NewPath("status"))...)
}

func validateMandatoryPriorityLevel(pl *flowcontrolv1.PriorityLevelConfiguration, specPath *field.Path) field.ErrorList {
	for _, mandatory := range bootstrap.MandatoryPriorityLevelConfigurations {
		if mandatory.Name != pl.Name {
			continue
		}
		if pl.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt {
			// Administrators may tune the exempt level's spec.exempt.
			have := pl.Spec.DeepCopy()
			have.Exempt = mandatory.Spec.Exempt
			if !apiequality.Semantic.DeepEqual(&mandatory.Spec, have) {
				return field.ErrorList{field.Invalid(specPath, pl.Spec, fmt.Sprintf("spec of '%s' except the 'spec.exempt' field must equal the fixed value", pl.Name))}
			}
			return nil
		}
		if !apiequality.Semantic.DeepEqual(mandatory.Spec, pl.Spec) {
			return field.ErrorList{field.Invalid(specPath, pl.Spec, fmt.Sprintf("spec of '%s' must equal the fixed value", pl.Name))}
		}
	}
	return nil
}

func validatePriorityLevelSpec(spec *flowcontrolv1.PriorityLevelConfigurationSpec, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if (name == flowcontrolv1.PriorityLevelConfigurationNameExempt) != (spec.Type == flowcontrolv1.PriorityLevelEnablementExempt) {
		errs = append(errs, field.Invalid(fldPath.Child("type"), spec.Type, "type must be 'Exempt' if and only if name is 'exempt'"))
	}
	switch spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if spec.Limited != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("limited"), "must be nil if the type is not Limited"))
		}
		if e := spec.Exempt; e != nil {
			exemptPath := fldPath.Child("exempt")
			if s := e.NominalConcurrencyShares; s != nil && *s < 0 {
				errs = append(errs, field.Invalid(exemptPath.Child("nominalConcurrencyShares"), *s, "must be a non-negative integer"))
			}
			errs = append(errs, validateLendablePercent(e.LendablePercent, exemptPath)...)
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if spec.Exempt != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("exempt"), "must be nil if the type is Limited"))
		}
		if spec.Limited == nil {
			errs = append(errs, field.Required(fldPath.Child("limited"), "must not be empty when type is Limited"))
		} else {
			errs = append(errs, validateLimited(spec.Limited, fldPath.Child("limited"))...)
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), spec.Type, enablements))
	}
	return errs
}

func validateLendablePercent(p *int32, fldPath *field.Path) field.ErrorList {
	if p != nil && (*p < 0 || *p > 100) {
		return field.ErrorList{field.Invalid(fldPath.Child("lendablePercent"), *p, "must be between 0 and 100, inclusive")}
	}
	return nil
}

func validateLimited(l *flowcontrolv1.LimitedPriorityLevelConfiguration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s := l.NominalConcurrencyShares; s != nil && *s < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("nominalConcurrencyShares"), *s, "must be a non-negative integer"))
	}
	errs = append(errs, validateLimitResponse(l.LimitResponse, fldPath.Child("limitResponse"))...)
	errs = append(errs, validateLendablePercent(l.LendablePercent, fldPath)...)
	if b := l.BorrowingLimitPercent; b != nil && *b < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("borrowingLimitPercent"), *b, "if specified, must be a non-negative integer"))
	}
	return errs
}

func validateLimitResponse(lr flowcontrolv1.LimitResponse, fldPath *field.Path) field.ErrorList {
	switch lr.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if lr.Queuing != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited")}
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		if lr.Queuing == nil {
			return field.ErrorList{field.Required(fldPath.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited")}
		}
		return validateQueuing(lr.Queuing, fldPath.Child("queuing"))
	default:
		return field.ErrorList{field.NotSupported(fldPath.Child("type"), lr.Type, responseTypes)}
	}
	return nil
}

func validateQueuing(q *flowcontrolv1.QueuingConfiguration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.QueueLengthLimit <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
	}
	queuesPath := fldPath.Child("queues")
	if q.Queues <= 0 {
		errs = append(errs, field.Invalid(queuesPath, q.Queues, "must be positive"))
	} else if q.Queues > maxQueues {
		errs = append(errs, field.Invalid(queuesPath, q.Queues, fmt.Sprintf("must not be greater than %d", maxQueues)))
	}
	handPath := fldPath.Child("handSize")
	switch {
	case q.HandSize <= 0:
		errs = append(errs, field.Invalid(handPath, q.HandSize, "must be positive"))
	case q.HandSize > q.Queues:
		errs = append(errs, field.Invalid(handPath, q.HandSize, fmt.Sprintf("should not be greater than queues (%d)", q.Queues)))
	case shufflesharding.RequiredEntropyBits(int(q.Queues), int(q.HandSize)) > shufflesharding.MaxHashBits:
		errs = append(errs, field.Invalid(handPath, q.HandSize,
			fmt.Sprintf("required entropy bits of deckSize %d and handSize %d should not be greater than %d", q.Queues, q.HandSize, shufflesharding.MaxHashBits)))
	}
	return errs
}

func priorityLevelConditionTypes(conds []flowcontrolv1.PriorityLevelConfigurationCondition) []string {
	out := make([]string, len(conds))
	for i, c := range conds {
		out[i] = string(c.Type)
	}
	return out
}
