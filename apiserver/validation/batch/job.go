package batch

import (
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/validation/core"
	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// Limits upstream puts on Jobs.
const (
	// maxParallelismForIndexedJob caps an Indexed Job's parallelism, and so
	// the length of status.completedIndexes.
	maxParallelismForIndexedJob = 100_000
	// maxFailedIndexesForIndexedJob caps maxFailedIndexes.
	maxFailedIndexesForIndexedJob = 100_000
	// Above completionsSoftLimit, a Job with a per-index backoff limit must
	// bound its failed indexes and parallelism by the two limits below.
	completionsSoftLimit                    = 100_000
	parallelismLimitForHighCompletions      = 10_000
	maxFailedIndexesLimitForHighCompletions = 10_000

	maxPodFailurePolicyRules                   = 20
	maxPodFailurePolicyOnExitCodesValues       = 255
	maxPodFailurePolicyOnPodConditionsPatterns = 20
	maxManagedByLength                         = 63
	maxSucceededIndexesLength                  = 64 * 1024
	maxSuccessPolicyRules                      = 20
)

var (
	specPath     = field.NewPath("spec")
	statusPath   = field.NewPath("status")
	metadataPath = field.NewPath("metadata")

	supportedPodFailurePolicyActions = sets.New(
		batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex,
		batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore)
	supportedOnExitCodesOperators = sets.New(batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn)
	supportedOnPodConditionStatus = sets.New(corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown)
	supportedPodReplacement       = sets.New(batchv1.Failed, batchv1.TerminatingOrFailed)
)

// jobOptions are the allowances upstream's strategy derives from the stored
// Job.
type jobOptions struct {
	// requirePrefixedLabels requires the batch.kubernetes.io/ generated
	// labels, not only the legacy ones (always on create; on update only
	// when the stored template has both).
	requirePrefixedLabels bool
	// allowInvalidLabelValueInSelector keeps a stored selector with values
	// that are not label values.
	allowInvalidLabelValueInSelector bool
	// allowMutableSchedulingDirectives lets a suspended Job that has not
	// run change its template's node affinity, node selector, tolerations,
	// scheduling gates, labels and annotations.
	allowMutableSchedulingDirectives bool
	// allowMutablePodResources lets such a Job change its containers'
	// resources.
	allowMutablePodResources bool
}

// ValidateJob validates a new Job: a namespaced object named as a DNS
// subdomain, the generated selector and labels (unless manualSelector),
// and a valid spec. An Indexed Job's name must leave room for the index its
// pods' hostnames get.
func ValidateJob(job *batchv1.Job) field.ErrorList {
	return validateJob(job, jobOptions{requirePrefixedLabels: true})
}

// ValidateJobUpdate validates an update of a Job. As upstream's strategy
// does, it validates the Job as a new one (metadata included) and then the
// update, so a spec error is reported twice. The selector, completion mode,
// pod failure policy, backoffLimitPerIndex, managedBy and successPolicy are
// immutable; completions only for a NonIndexed Job (an Indexed one scales
// completions with parallelism); the template unless the Job is suspended
// and has not started (then scheduling directives and container resources
// may change).
func ValidateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	opts := jobOptionsForUpdate(old)
	errs := validateJob(job, opts)
	errs = append(errs, metavalidation.ValidateObjectMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)...)
	spec, oldSpec := &job.Spec, &old.Spec
	errs = append(errs, validateJobSpecWithSelector(spec, specPath, opts)...)
	errs = append(errs, validateCompletionsUpdate(spec, oldSpec, specPath.Child("completions"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(spec.Selector, oldSpec.Selector, specPath.Child("selector"))...)
	errs = append(errs, validateJobTemplateUpdate(spec, oldSpec, specPath, opts)...)
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"completionMode", spec.CompletionMode, oldSpec.CompletionMode},
		{"podFailurePolicy", spec.PodFailurePolicy, oldSpec.PodFailurePolicy},
		{"backoffLimitPerIndex", spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex},
		{"managedBy", spec.ManagedBy, oldSpec.ManagedBy},
		{"successPolicy", spec.SuccessPolicy, oldSpec.SuccessPolicy},
	} {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(f.new, f.old, specPath.Child(f.name))...)
	}
	return errs
}

// jobOptionsForUpdate derives the allowances of an update from the stored
// Job, with the MutablePodResourcesForSuspendedJobs and
// MutableSchedulingDirectivesForSuspendedJobs gates on (beta, default).
func jobOptionsForUpdate(old *batchv1.Job) jobOptions {
	_, hadJobName := old.Spec.Template.Labels[batchv1.JobNameLabel]
	_, hadControllerUID := old.Spec.Template.Labels[batchv1.ControllerUidLabel]
	mutable := ptr.Deref(old.Spec.Suspend, false) &&
		(old.Status.StartTime == nil || isConditionTrue(old.Status.Conditions, batchv1.JobSuspended)) &&
		old.Status.Active == 0
	return jobOptions{
		requirePrefixedLabels:            hadJobName && hadControllerUID,
		allowInvalidLabelValueInSelector: metav1validation.LabelSelectorHasInvalidLabelValue(old.Spec.Selector),
		allowMutableSchedulingDirectives: mutable,
		allowMutablePodResources:         mutable,
	}
}

func validateJob(job *batchv1.Job, opts jobOptions) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&job.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validateGeneratedSelector(job, opts.requirePrefixedLabels)...)
	errs = append(errs, validateJobSpecWithSelector(&job.Spec, specPath, opts)...)
	if spec := &job.Spec; ptr.Deref(spec.CompletionMode, "") == batchv1.IndexedCompletion && spec.Completions != nil && *spec.Completions > 0 {
		// The controller names the pods' hostnames <job>-<index>; the
		// highest index must still make a DNS label.
		hostname := fmt.Sprintf("%s-%d", job.Name, *spec.Completions-1)
		if len(validation.IsDNS1123Label(hostname)) > 0 {
			errs = append(errs, field.Invalid(metadataPath.Child("name"), job.Name, fmt.Sprintf("will not able to create pod with invalid DNS label: %s", hostname)))
		}
	}
	return errs
}

// validateGeneratedSelector checks, for a Job whose selector the registry
// generated (see GenerateJobSelector), that it has a UID, that its template
// carries the generated labels with its name and UID, and that the selector
// selects them.
func validateGeneratedSelector(job *batchv1.Job, requirePrefixed bool) field.ErrorList {
	if ptr.Deref(job.Spec.ManualSelector, false) || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(metadataPath.Child("uid"), ""))
	}
	uid, name := string(job.UID), job.Name
	expected := map[string]string{legacyControllerUIDLabel: uid, legacyJobNameLabel: name}
	required := []string{legacyControllerUIDLabel, legacyJobNameLabel}
	if requirePrefixed {
		expected[batchv1.ControllerUidLabel], expected[batchv1.JobNameLabel] = uid, name
		required = append(required, batchv1.ControllerUidLabel, batchv1.JobNameLabel)
	}
	labelsPath := specPath.Child("template", "metadata", "labels")
	for _, key := range required {
		actual, found := job.Spec.Template.Labels[key]
		switch {
		case !found:
			errs = append(errs, field.Required(labelsPath.Key(key), fmt.Sprintf("must be '%s'", expected[key])))
		case actual != expected[key]:
			errs = append(errs, field.Invalid(labelsPath.Key(key), job.Spec.Template.Labels, fmt.Sprintf("must be '%s'", expected[key])))
		}
	}
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !selector.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(specPath.Child("selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

// validateJobSpecWithSelector validates the spec of a Job (not a CronJob's
// template): the spec itself and a required selector that matches the
// template's labels.
func validateJobSpecWithSelector(spec *batchv1.JobSpec, p *field.Path, opts jobOptions) field.ErrorList {
	errs := validateJobSpec(spec, p)
	if spec.Selector == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector,
			metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector}, p.Child("selector"))...)
	}
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

// validateJobSpec validates what a Job and a CronJob's job template share.
func validateJobSpec(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name  string
		value *int32
	}{
		{"parallelism", spec.Parallelism}, {"completions", spec.Completions},
		{"backoffLimit", spec.BackoffLimit}, {"ttlSecondsAfterFinished", spec.TTLSecondsAfterFinished},
		{"backoffLimitPerIndex", spec.BackoffLimitPerIndex},
	} {
		if f.value != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*f.value), p.Child(f.name))...)
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	if spec.MaxFailedIndexes != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.MaxFailedIndexes), p.Child("maxFailedIndexes"))...)
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if spec.ManagedBy != nil {
		errs = append(errs, validation.IsDomainPrefixedPath(p.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLong(p.Child("managedBy"), "", maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(spec, p)...)
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, p.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if ptr.Deref(spec.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.IndexedCompletion {
			errs = append(errs, field.Invalid(p.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(spec, p.Child("successPolicy"))...)
		}
	}
	errs = append(errs, validatePodReplacementPolicy(spec, p.Child("podReplacementPolicy"))...)
	errs = append(errs, core.ValidatePodTemplateSpec(&spec.Template, p.Child("template"))...)

	// An unset policy is defaulted to Always for pod specs, so both mean
	// the user chose none.
	restartPath := p.Child("template", "spec", "restartPolicy")
	switch policy := spec.Template.Spec.RestartPolicy; {
	case policy == corev1.RestartPolicyAlways || policy == "":
		errs = append(errs, field.Required(restartPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case policy != corev1.RestartPolicyOnFailure && policy != corev1.RestartPolicyNever:
		errs = append(errs, field.NotSupported(restartPath, policy, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	case spec.PodFailurePolicy != nil && policy != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(restartPath, policy, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

// validateCompletionMode validates the completion mode and what depends on
// it: an Indexed Job needs completions and bounds its parallelism and
// failed indexes; per-index limits need Indexed.
func validateCompletionMode(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	mode := spec.CompletionMode
	if mode != nil && *mode != batchv1.NonIndexedCompletion && *mode != batchv1.IndexedCompletion {
		errs = append(errs, field.NotSupported(p.Child("completionMode"), mode, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	if mode != nil && *mode == batchv1.IndexedCompletion {
		if spec.Completions == nil {
			errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
		}
		if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
			errs = append(errs, field.Invalid(p.Child("parallelism"), *spec.Parallelism,
				fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
		}
		if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
		}
		if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesForIndexedJob {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
		}
		if spec.Completions != nil && *spec.Completions > completionsSoftLimit && spec.BackoffLimitPerIndex != nil {
			if spec.MaxFailedIndexes == nil {
				errs = append(errs, field.Required(p.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
			}
			if spec.Parallelism != nil && *spec.Parallelism > parallelismLimitForHighCompletions {
				errs = append(errs, field.Invalid(p.Child("parallelism"), *spec.Parallelism,
					fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", parallelismLimitForHighCompletions, completionsSoftLimit)))
			}
			if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesLimitForHighCompletions {
				errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes,
					fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", maxFailedIndexesLimitForHighCompletions, completionsSoftLimit)))
			}
		}
	}
	if mode == nil || *mode == batchv1.NonIndexedCompletion {
		if spec.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	return errs
}

func validatePodReplacementPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	policy := spec.PodReplacementPolicy
	switch {
	case policy == nil:
		return nil
	case spec.PodFailurePolicy != nil:
		// With a pod failure policy, pods are replaced only once failed.
		if *policy != batchv1.Failed {
			return field.ErrorList{field.NotSupported(p, *policy, []batchv1.PodReplacementPolicy{batchv1.Failed})}
		}
	case !supportedPodReplacement.Has(*policy):
		return field.ErrorList{field.NotSupported(p, *policy, sets.List(supportedPodReplacement))}
	}
	return nil
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rulesPath := p.Child("rules")
	rules := spec.PodFailurePolicy.Rules
	if len(rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxPodFailurePolicyRules))
	}
	containers := sets.New[string]()
	for _, c := range spec.Template.Spec.Containers {
		containers.Insert(c.Name)
	}
	for _, c := range spec.Template.Spec.InitContainers {
		containers.Insert(c.Name)
	}
	for i := range rules {
		errs = append(errs, validatePodFailurePolicyRule(spec, &rules[i], rulesPath.Index(i), containers)...)
	}
	return errs
}

func validatePodFailurePolicyRule(spec *batchv1.JobSpec, rule *batchv1.PodFailurePolicyRule, p *field.Path, containers sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	actionPath := p.Child("action")
	switch {
	case rule.Action == "":
		errs = append(errs, field.Required(actionPath, fmt.Sprintf("valid values: %q", sets.List(supportedPodFailurePolicyActions))))
	case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(actionPath, rule.Action, "requires the backoffLimitPerIndex to be set"))
		}
	case !supportedPodFailurePolicyActions.Has(rule.Action):
		errs = append(errs, field.NotSupported(actionPath, rule.Action, sets.List(supportedPodFailurePolicyActions)))
	}
	if rule.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(rule.OnExitCodes, p.Child("onExitCodes"), containers)...)
	}
	if len(rule.OnPodConditions) > 0 {
		errs = append(errs, validateOnPodConditions(rule.OnPodConditions, p.Child("onPodConditions"))...)
	}
	switch {
	case rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0:
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	case rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0:
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(patterns) > maxPodFailurePolicyOnPodConditionsPatterns {
		errs = append(errs, field.TooMany(p, len(patterns), maxPodFailurePolicyOnPodConditionsPatterns))
	}
	for i, pattern := range patterns {
		pp := p.Index(i)
		errs = append(errs, core.ValidateQualifiedName(string(pattern.Type), pp.Child("type"))...)
		switch {
		case pattern.Status == "":
			errs = append(errs, field.Required(pp.Child("status"), fmt.Sprintf("valid values: %q", sets.List(supportedOnPodConditionStatus))))
		case !supportedOnPodConditionStatus.Has(pattern.Status):
			errs = append(errs, field.NotSupported(pp.Child("status"), pattern.Status, sets.List(supportedOnPodConditionStatus)))
		}
	}
	return errs
}

func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, p *field.Path, containers sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	switch {
	case req.Operator == "":
		errs = append(errs, field.Required(p.Child("operator"), fmt.Sprintf("valid values: %q", sets.List(supportedOnExitCodesOperators))))
	case !supportedOnExitCodesOperators.Has(req.Operator):
		errs = append(errs, field.NotSupported(p.Child("operator"), req.Operator, sets.List(supportedOnExitCodesOperators)))
	}
	if req.ContainerName != nil && !containers.Has(*req.ContainerName) {
		errs = append(errs, field.Invalid(p.Child("containerName"), *req.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	valuesPath := p.Child("values")
	switch {
	case len(req.Values) == 0:
		errs = append(errs, field.Invalid(valuesPath, req.Values, "at least one value is required"))
	case len(req.Values) > maxPodFailurePolicyOnExitCodesValues:
		errs = append(errs, field.TooMany(valuesPath, len(req.Values), maxPodFailurePolicyOnExitCodesValues))
	}
	seen, ordered := sets.New[int32](), true
	for i, code := range req.Values {
		if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && code == 0 {
			errs = append(errs, field.Invalid(valuesPath.Index(i), code, "must not be 0 for the In operator"))
		}
		if seen.Has(code) {
			errs = append(errs, field.Duplicate(valuesPath.Index(i), code))
		}
		seen.Insert(code)
		if i > 0 && req.Values[i-1] > code {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(valuesPath, req.Values, "must be ordered"))
	}
	return errs
}

func validateSuccessPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rulesPath := p.Child("rules")
	rules := spec.SuccessPolicy.Rules
	if len(rules) == 0 {
		errs = append(errs, field.Required(rulesPath, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxSuccessPolicyRules))
	}
	// An Indexed Job without completions is already reported; upstream
	// would dereference them, Skiff skips the checks that need them.
	if spec.Completions == nil {
		return errs
	}
	completions := *spec.Completions
	for i, rule := range rules {
		rp := rulesPath.Index(i)
		if rule.SucceededCount == nil && rule.SucceededIndexes == nil {
			errs = append(errs, field.Required(rp, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if rule.SucceededIndexes != nil {
			ip := rp.Child("succeededIndexes")
			if len(*rule.SucceededIndexes) > maxSucceededIndexesLength {
				errs = append(errs, field.TooLong(ip, "", maxSucceededIndexesLength))
			}
			var err error
			if total, err = parseIndexes(*rule.SucceededIndexes, completions); err != nil {
				errs = append(errs, field.Invalid(ip, *rule.SucceededIndexes, fmt.Sprintf("error parsing succeededIndexes: %s", err)))
			}
		}
		if rule.SucceededCount != nil {
			cp := rp.Child("succeededCount")
			count := *rule.SucceededCount
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(count), cp)...)
			if count > completions {
				errs = append(errs, field.Invalid(cp, count, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && count > total {
				errs = append(errs, field.Invalid(cp, count, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// validateCompletionsUpdate holds completions immutable for a NonIndexed
// Job; an Indexed one may change them only together with parallelism (to
// the same value).
func validateCompletionsUpdate(spec, old *batchv1.JobSpec, p *field.Path) field.ErrorList {
	if ptr.Deref(spec.CompletionMode, "") != batchv1.IndexedCompletion {
		return apimachineryvalidation.ValidateImmutableField(spec.Completions, old.Completions, p)
	}
	if apiequality.Semantic.DeepEqual(spec.Completions, old.Completions) || spec.Completions == nil {
		// Unsetting them is reported by the spec checks.
		return nil
	}
	if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		return field.ErrorList{field.Invalid(p, spec.Completions, fmt.Sprintf("can only be modified in tandem with %s", p.Root().Child("parallelism")))}
	}
	return nil
}

// validateJobTemplateUpdate holds the template immutable, except, for a
// suspended Job that has not run, its scheduling directives and its
// containers' resources.
func validateJobTemplateUpdate(spec, old *batchv1.JobSpec, p *field.Path, opts jobOptions) field.ErrorList {
	t, oldT := &spec.Template, &old.Template
	if opts.allowMutableSchedulingDirectives {
		oldT = oldT.DeepCopy()
		switch {
		case t.Spec.Affinity == nil && oldT.Spec.Affinity != nil:
			// Clearing the affinity is allowed when it held only node
			// affinity.
			oldT.Spec.Affinity.NodeAffinity = nil
			if apiequality.Semantic.DeepEqual(*oldT.Spec.Affinity, corev1.Affinity{}) {
				oldT.Spec.Affinity = nil
			}
		case t.Spec.Affinity != nil && oldT.Spec.Affinity == nil:
			oldT.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
		case t.Spec.Affinity != nil && oldT.Spec.Affinity != nil:
			oldT.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
		}
		oldT.Spec.NodeSelector = t.Spec.NodeSelector
		oldT.Spec.Tolerations = t.Spec.Tolerations
		oldT.Annotations = t.Annotations
		oldT.Labels = t.Labels
		oldT.Spec.SchedulingGates = t.Spec.SchedulingGates
	}
	if !ptr.Deref(old.Suspend, false) || !opts.allowMutablePodResources {
		return apimachineryvalidation.ValidateImmutableField(t, oldT, p.Child("template"))
	}
	// Only the containers' resources may differ from the stored spec.
	merged := oldT.Spec.DeepCopy()
	copyResources(merged.Containers, t.Spec.Containers)
	copyResources(merged.InitContainers, t.Spec.InitContainers)
	return apimachineryvalidation.ValidateImmutableField(t.Spec, *merged, p.Child("template.spec"))
}

// copyResources copies the resources of the containers in from onto the
// same-named containers at the same positions in to, when both lists have
// the same length.
func copyResources(to, from []corev1.Container) {
	if len(to) != len(from) {
		return
	}
	for i := range from {
		if to[i].Name == from[i].Name {
			to[i].Resources = from[i].Resources
		}
	}
}

// parseIndexes parses a list of indexes and index ranges ("1,3-5"), each
// below completions and in increasing order, and returns how many indexes
// it holds.
func parseIndexes(s string, completions int32) (int32, error) {
	if s == "" {
		return 0, nil
	}
	var total int32
	var last *int32
	for _, interval := range strings.Split(s, ",") {
		x, y, err := parseIndexInterval(interval, completions)
		if err != nil {
			return 0, err
		}
		if last != nil && *last >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", *last, x)
		}
		total += y - x + 1
		last = &y
	}
	return total, nil
}

// parseIndexInterval parses "x" or "x-y" (x < y), both below completions.
func parseIndexInterval(interval string, completions int32) (int32, int32, error) {
	parts := strings.Split(interval, "-")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", interval)
	}
	bounds := make([]int32, len(parts))
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil {
			return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", part)
		}
		if n >= int(completions) {
			return 0, 0, fmt.Errorf("too large index: %q", part)
		}
		bounds[i] = int32(n)
	}
	if len(bounds) == 1 {
		return bounds[0], bounds[0], nil
	}
	if bounds[0] >= bounds[1] {
		return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", bounds[0], bounds[1])
	}
	return bounds[0], bounds[1], nil
}

func isConditionTrue(conditions []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	return conditionIs(conditions, t, corev1.ConditionTrue)
}

func conditionIs(conditions []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus) bool {
	for _, c := range conditions {
		if c.Type == t && c.Status == status {
			return true
		}
	}
	return false
}
