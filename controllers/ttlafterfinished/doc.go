// Package ttlafterfinished is Skiff's TTL-after-finished controller
// (kube-controller-manager's "ttl-after-finished"): it deletes a finished
// Job (Complete or Failed) once spec.ttlSecondsAfterFinished has passed
// since it finished, its pods in the background, and requeues Jobs that
// are not yet due for their expiry time.
package ttlafterfinished
