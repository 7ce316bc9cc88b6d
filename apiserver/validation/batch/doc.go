// Package batch validates batch/v1 Jobs and CronJobs on the external types,
// with upstream kube-apiserver's field paths, error types and messages and
// the validation options upstream's strategies derive from the request
// (Kubernetes 1.37 feature gates at their defaults).
//
// The validators expect the object to have been defaulted
// (apiserver/defaults) and prepared by the registry as upstream's is. For a
// Job that means, on create: metadata.uid assigned, then, unless
// spec.manualSelector is true, the selector and template labels generated
// (GenerateJobSelector, called from PrepareForCreate); validation then
// requires the generated controller-uid and job-name labels and a selector
// that selects them. The strategy also drops spec.scheduling, whose feature
// gate is off. CronJob schedules are parsed as upstream parses them, with
// github.com/robfig/cron/v3, and time zones from the tzdata embedded here.
package batch
