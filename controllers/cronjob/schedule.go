package cronjob

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// nextScheduleDelta is added to requeues so that the sync lands just
// after the schedule time, as upstream.
const nextScheduleDelta = 100 * time.Millisecond

// tooManyMissed is how many missed schedules make a warning.
const tooManyMissed = 100

// hasTZ reports a TZ= or CRON_TZ= prefix, which the API refuses in new
// objects and the controller only warns about.
func hasTZ(schedule string) bool {
	return strings.Contains(schedule, "TZ")
}

// parseSchedule parses the CronJob's schedule in its time zone: the
// standard five fields or a descriptor (@hourly, @every 5m, ...).
func parseSchedule(cj *batchv1.CronJob) (cron.Schedule, error) {
	spec := cj.Spec.Schedule
	if tz := cj.Spec.TimeZone; tz != nil && !hasTZ(spec) {
		spec = fmt.Sprintf("TZ=%s %s", *tz, spec)
	}
	return cron.ParseStandard(spec)
}

// mostRecentScheduleTime finds the latest schedule time not after now
// since the CronJob last ran (or was created, or, with
// startingDeadlineSeconds when includeDeadline, since that deadline). It
// returns the earliest time considered, the most recent schedule time (nil
// if none has come), and an estimate of how many were missed.
func mostRecentScheduleTime(cj *batchv1.CronJob, now time.Time, sched cron.Schedule, includeDeadline bool) (time.Time, *time.Time, int64, error) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if includeDeadline && cj.Spec.StartingDeadlineSeconds != nil {
		if deadline := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second); deadline.After(earliest) {
			earliest = deadline
		}
	}
	t1 := sched.Next(earliest)
	if t1.IsZero() || now.Before(t1) {
		return earliest, nil, 0, nil
	}
	t2 := sched.Next(t1)
	if t2.IsZero() || now.Before(t2) {
		return earliest, &t1, 1, nil
	}
	interval := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if interval < 1 {
		return earliest, nil, 0, fmt.Errorf("time difference between two schedules is less than 1 second")
	}
	missed := int64(now.Sub(t1).Seconds())/interval + 1
	// Walk back from now by growing windows until one holds a schedule
	// time, then forward to the last one: exact for irregular schedules
	// without walking every missed time.
	var latest time.Time
	for w := time.Duration(interval) * time.Second; ; w *= 2 {
		from := now.Add(-w)
		if !from.After(earliest) {
			from = earliest
		}
		if t := sched.Next(from); !t.IsZero() && !t.After(now) {
			for ; !t.IsZero() && !t.After(now); t = sched.Next(t) {
				latest = t
			}
			break
		}
		if from.Equal(earliest) {
			break
		}
	}
	if latest.IsZero() {
		latest = t1
	}
	return earliest, &latest, missed, nil
}

// nextScheduleTimeDuration is how long until just after the next schedule
// time.
func nextScheduleTimeDuration(cj *batchv1.CronJob, now time.Time, sched cron.Schedule) time.Duration {
	earliest, recent, _, err := mostRecentScheduleTime(cj, now, sched, false)
	if err != nil {
		return 0
	}
	from := earliest
	if recent != nil {
		from = *recent
	}
	next := sched.Next(from)
	if next.IsZero() {
		return 0
	}
	return next.Add(nextScheduleDelta).Sub(now)
}

// jobName is <cronjob>-<scheduled time in minutes since the epoch>, the
// same for every attempt at one schedule time.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}
