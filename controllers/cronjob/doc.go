// Package cronjob is Skiff's CronJob controller (kube-controller-manager's
// "cronjob"): it creates a Job, named <cronjob>-<scheduled minute since the
// epoch>, at each time of a CronJob's schedule (five standard fields or a
// descriptor such as @hourly, in spec.timeZone or UTC), honouring suspend,
// startingDeadlineSeconds and concurrencyPolicy (Allow, Forbid, Replace),
// warns about more than 100 missed schedules, keeps status.active,
// lastScheduleTime and lastSuccessfulTime, deletes finished Jobs beyond the
// history limits and requeues itself for the next schedule time.
package cronjob
