package batch

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// statusRules say which status transitions an update is checked for. As
// upstream (JobManagedBy is GA), most rules apply only when a field they
// involve changed, so that an unrelated write is not blocked by a status
// the Job controller has yet to fix.
type statusRules struct {
	rejectDecreasingSucceeded                 bool
	rejectInvalidCompletedIndexes             bool
	rejectInvalidFailedIndexes                bool
	rejectCompletedIndexesForNonIndexed       bool
	rejectFailedIndexesWithoutBackoffPerIndex bool
	rejectFailedIndexesOverlappingCompleted   bool
	rejectFailedWithoutFailureTarget          bool
	rejectCompleteWithoutSuccessCriteriaMet   bool
	rejectFinishedWithActivePods              bool
	rejectFinishedWithoutStartTime            bool
	rejectFinishedWithUncountedTerminatedPods bool
	rejectStartTimeUpdateForUnsuspended       bool
	rejectCompletionTimeBeforeStartTime       bool
	rejectNotCompleteWithCompletionTime       bool
	rejectCompleteWithoutCompletionTime       bool
	rejectCompleteWithFailedCondition         bool
	rejectCompleteWithFailureTargetCondition  bool
	rejectMoreReadyThanActive                 bool
	rejectFinishedWithTerminatingPods         bool
}

func statusRulesFor(job, old *batchv1.Job) statusRules {
	s, o := &job.Status, &old.Status
	indexed := ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
	changed := func(t batchv1.JobConditionType) bool {
		return isConditionTrue(o.Conditions, t) != isConditionTrue(s.Conditions, t)
	}
	finishedChanged := isJobFinished(old) != isJobFinished(job)
	completeChanged, failedChanged := changed(batchv1.JobComplete), changed(batchv1.JobFailed)
	failureTargetChanged, successCriteriaChanged := changed(batchv1.JobFailureTarget), changed(batchv1.JobSuccessCriteriaMet)
	completedIndexesChanged := o.CompletedIndexes != s.CompletedIndexes
	failedIndexesChanged := !ptr.Equal(o.FailedIndexes, s.FailedIndexes)
	activeChanged := o.Active != s.Active
	startTimeChanged := !ptr.Equal(o.StartTime, s.StartTime)
	completionTimeChanged := !ptr.Equal(o.CompletionTime, s.CompletionTime)
	uncountedChanged := !apiequality.Semantic.DeepEqual(o.UncountedTerminatedPods, s.UncountedTerminatedPods)
	readyChanged := !ptr.Equal(o.Ready, s.Ready)
	terminatingChanged := !ptr.Equal(o.Terminating, s.Terminating)
	suspendedWithZeroCompletions := ptr.Deref(job.Spec.Suspend, false) && ptr.Equal(job.Spec.Completions, ptr.To[int32](0))
	// A resume shows as the JobSuspended condition going from True to
	// False; the controller then sets a new start time.
	resuming := isConditionTrue(o.Conditions, batchv1.JobSuspended) && conditionIs(s.Conditions, batchv1.JobSuspended, corev1.ConditionFalse)
	return statusRules{
		// An Indexed Job with completions == parallelism can be scaled
		// down, losing succeeded pods.
		rejectDecreasingSucceeded:                 !indexed || !ptr.Equal(job.Spec.Completions, job.Spec.Parallelism),
		rejectInvalidCompletedIndexes:             completedIndexesChanged,
		rejectInvalidFailedIndexes:                failedIndexesChanged,
		rejectCompletedIndexesForNonIndexed:       completedIndexesChanged,
		rejectFailedIndexesWithoutBackoffPerIndex: failedIndexesChanged,
		rejectFailedIndexesOverlappingCompleted:   failedIndexesChanged || completedIndexesChanged,
		rejectFailedWithoutFailureTarget:          failedChanged || failedIndexesChanged,
		rejectCompleteWithoutSuccessCriteriaMet:   completeChanged || successCriteriaChanged,
		rejectFinishedWithActivePods:              finishedChanged || activeChanged,
		rejectFinishedWithoutStartTime:            (finishedChanged || startTimeChanged) && !suspendedWithZeroCompletions,
		rejectFinishedWithUncountedTerminatedPods: finishedChanged || uncountedChanged,
		rejectStartTimeUpdateForUnsuspended:       startTimeChanged && !resuming,
		rejectCompletionTimeBeforeStartTime:       startTimeChanged || completionTimeChanged,
		rejectNotCompleteWithCompletionTime:       completeChanged || completionTimeChanged,
		rejectCompleteWithoutCompletionTime:       completeChanged || completionTimeChanged,
		rejectCompleteWithFailedCondition:         completeChanged || failedChanged,
		rejectCompleteWithFailureTargetCondition:  completeChanged || failureTargetChanged,
		rejectMoreReadyThanActive:                 readyChanged || activeChanged,
		rejectFinishedWithTerminatingPods:         finishedChanged || terminatingChanged,
	}
}

// ValidateJobStatusUpdate validates an update through jobs/status: counts
// not negative, uncounted pods unique, and the transitions upstream allows
// between terminal conditions, start and completion times, and completed
// and failed indexes.
func ValidateJobStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	errs := metavalidation.ValidateObjectMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)
	rules := statusRulesFor(job, old)
	errs = append(errs, validateJobStatus(job, rules)...)

	s, o := &job.Status, &old.Status
	conditions := statusPath.Child("conditions")
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if isConditionTrue(o.Conditions, t) && !isConditionTrue(s.Conditions, t) {
			errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	if s.Failed < o.Failed {
		errs = append(errs, field.Invalid(statusPath.Child("failed"), s.Failed, "cannot decrease the failed counter"))
	}
	if rules.rejectDecreasingSucceeded && s.Succeeded < o.Succeeded {
		errs = append(errs, field.Invalid(statusPath.Child("succeeded"), s.Succeeded, "cannot decrease the succeeded counter"))
	}
	// Unsetting completionTime of a finished Job is caught by the rule that
	// requires it, so only a change between two values is checked here.
	if s.CompletionTime != nil && o.CompletionTime != nil && !ptr.Equal(s.CompletionTime, o.CompletionTime) {
		errs = append(errs, field.Invalid(statusPath.Child("completionTime"), s.CompletionTime, "field is immutable"))
	}
	if rules.rejectStartTimeUpdateForUnsuspended && o.StartTime != nil && !ptr.Equal(o.StartTime, s.StartTime) && !ptr.Deref(job.Spec.Suspend, false) {
		errs = append(errs, field.Invalid(statusPath.Child("startTime"), s.StartTime, "field is immutable for unsuspended job once set"))
	}
	met, oldMet := isConditionTrue(s.Conditions, batchv1.JobSuccessCriteriaMet), isConditionTrue(o.Conditions, batchv1.JobSuccessCriteriaMet)
	if oldMet && !met {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if isConditionTrue(o.Conditions, batchv1.JobComplete) && !oldMet && met {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
	}
	return errs
}

func validateJobStatus(job *batchv1.Job, rules statusRules) field.ErrorList {
	s := &job.Status
	p := statusPath
	var errs field.ErrorList
	for _, f := range []struct {
		name  string
		value *int32
	}{
		{"active", &s.Active}, {"succeeded", &s.Succeeded}, {"failed", &s.Failed},
		{"ready", s.Ready}, {"terminating", s.Terminating},
	} {
		if f.value != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*f.value), p.Child(f.name))...)
		}
	}
	if u := s.UncountedTerminatedPods; u != nil {
		up := p.Child("uncountedTerminatedPods")
		seen := sets.New[types.UID]()
		for _, list := range []struct {
			name string
			uids []types.UID
		}{{"succeeded", u.Succeeded}, {"failed", u.Failed}} {
			for i, uid := range list.uids {
				ip := up.Child(list.name).Index(i)
				switch {
				case uid == "":
					errs = append(errs, field.Invalid(ip, uid, "must not be empty"))
				case seen.Has(uid):
					errs = append(errs, field.Duplicate(ip, uid))
				default:
					seen.Insert(uid)
				}
			}
		}
	}
	conditions := p.Child("conditions")
	complete, failed := isConditionTrue(s.Conditions, batchv1.JobComplete), isConditionTrue(s.Conditions, batchv1.JobFailed)
	failureTarget := isConditionTrue(s.Conditions, batchv1.JobFailureTarget)
	successCriteriaMet := isConditionTrue(s.Conditions, batchv1.JobSuccessCriteriaMet)
	finished := isJobFinished(job)
	if rules.rejectCompleteWithFailedCondition && complete && failed {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True and Failed=true conditions"))
	}
	if rules.rejectCompleteWithFailureTargetCondition && complete && failureTarget {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True and FailureTarget=true conditions"))
	}
	if rules.rejectNotCompleteWithCompletionTime && s.CompletionTime != nil && !complete {
		errs = append(errs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "cannot set completionTime when there is no Complete=True condition"))
	}
	if rules.rejectCompleteWithoutCompletionTime && s.CompletionTime == nil && complete {
		errs = append(errs, field.Required(p.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	if rules.rejectCompletionTimeBeforeStartTime && s.StartTime != nil && s.CompletionTime != nil && s.CompletionTime.Before(s.StartTime) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "must be equal to or after `startTime`"))
	}
	if rules.rejectFailedWithoutFailureTarget && failed && !failureTarget {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Failed=True condition without the FailureTarget=true condition"))
	}
	if rules.rejectCompleteWithoutSuccessCriteriaMet && complete && !successCriteriaMet {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
	}
	if rules.rejectFinishedWithActivePods && s.Active > 0 && finished {
		errs = append(errs, field.Invalid(p.Child("active"), s.Active, "active>0 is invalid for finished job"))
	}
	if rules.rejectFinishedWithoutStartTime && s.StartTime == nil && finished {
		errs = append(errs, field.Required(p.Child("startTime"), "startTime is required for finished job"))
	}
	if u := s.UncountedTerminatedPods; rules.rejectFinishedWithUncountedTerminatedPods && finished && u != nil && len(u.Failed)+len(u.Succeeded) > 0 {
		errs = append(errs, field.Invalid(p.Child("uncountedTerminatedPods"), u, "must be empty for finished job"))
	}
	spec := &job.Spec
	if rules.rejectInvalidCompletedIndexes && spec.Completions != nil {
		if _, err := parseIndexes(s.CompletedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes, fmt.Sprintf("error parsing completedIndexes: %s", err)))
		}
	}
	if rules.rejectInvalidFailedIndexes && spec.Completions != nil && spec.BackoffLimitPerIndex != nil && s.FailedIndexes != nil {
		if _, err := parseIndexes(*s.FailedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("failedIndexes"), s.FailedIndexes, fmt.Sprintf("error parsing failedIndexes: %s", err)))
		}
	}
	indexed := ptr.Deref(spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
	if rules.rejectCompletedIndexesForNonIndexed && s.CompletedIndexes != "" && !indexed {
		errs = append(errs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	if rules.rejectFailedIndexesWithoutBackoffPerIndex && spec.BackoffLimitPerIndex == nil && s.FailedIndexes != nil {
		// This also keeps failedIndexes off NonIndexed Jobs, which cannot
		// have a per-index limit.
		errs = append(errs, field.Invalid(p.Child("failedIndexes"), *s.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
	}
	if rules.rejectFailedIndexesOverlappingCompleted && spec.Completions != nil && s.FailedIndexes != nil {
		if err := indexesOverlap(s.CompletedIndexes, *s.FailedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("failedIndexes"), *s.FailedIndexes, err.Error()))
		}
	}
	if rules.rejectFinishedWithTerminatingPods && s.Terminating != nil && *s.Terminating > 0 && finished {
		errs = append(errs, field.Invalid(p.Child("terminating"), s.Terminating, "terminating>0 is invalid for finished job"))
	}
	if rules.rejectMoreReadyThanActive && s.Ready != nil && *s.Ready > s.Active {
		errs = append(errs, field.Invalid(p.Child("ready"), *s.Ready, "cannot set more ready pods than active"))
	}
	if successCriteriaMet && failed {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	}
	if successCriteriaMet && failureTarget {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
	}
	if spec.SuccessPolicy != nil && !successCriteriaMet && complete {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"))
	}
	return errs
}

// indexesOverlap reports the first index both lists hold; intervals that
// do not parse are skipped (their format is reported separately).
func indexesOverlap(completed, failed string, completions int32) error {
	if completed == "" || failed == "" {
		return nil
	}
	c, f := strings.Split(completed, ","), strings.Split(failed, ",")
	ci, fi := 0, 0
	cx, cy, cerr := parseIndexInterval(c[ci], completions)
	fx, fy, ferr := parseIndexInterval(f[fi], completions)
	for ci < len(c) && fi < len(f) {
		switch {
		case cerr != nil:
			if ci++; ci < len(c) {
				cx, cy, cerr = parseIndexInterval(c[ci], completions)
			}
		case ferr != nil:
			if fi++; fi < len(f) {
				fx, fy, ferr = parseIndexInterval(f[fi], completions)
			}
		case cx <= fy && fx <= cy:
			return fmt.Errorf("failedIndexes and completedIndexes overlap at index: %d", max(cx, fx))
		case cx <= fx:
			if ci++; ci < len(c) {
				cx, cy, cerr = parseIndexInterval(c[ci], completions)
			}
		default:
			if fi++; fi < len(f) {
				fx, fy, ferr = parseIndexInterval(f[fi], completions)
			}
		}
	}
	return nil
}

// isJobFinished reports a Complete=True or Failed=True condition.
func isJobFinished(job *batchv1.Job) bool {
	return isConditionTrue(job.Status.Conditions, batchv1.JobComplete) || isConditionTrue(job.Status.Conditions, batchv1.JobFailed)
}
