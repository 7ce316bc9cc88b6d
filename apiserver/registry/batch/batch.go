// Package batch declares the batch/v1 Jobs and CronJobs with their status
// subresources.
package batch

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
	batchvalidation "github.com/skiff-dev/skiff/apiserver/validation/batch"
)

// Resources returns the batch/v1 resources.
func Resources(tables func(schema.GroupResource) rest.TableConvertor) []registry.Resource {
	gv := batchv1.SchemeGroupVersion
	return []registry.Resource{
		&registry.Definition[*batchv1.Job]{
			GroupVersion: gv, Resource: "jobs", Singular: "job", Kind: "Job", Namespaced: true,
			Categories:     []string{"all"},
			Validate:       batchvalidation.ValidateJob,
			ValidateUpdate: batchvalidation.ValidateJobUpdate,
			New:            func() *batchv1.Job { return &batchv1.Job{} },
			// Unless the client manages its selector, the Job selects its
			// pods by its own uid.
			PrepareForCreate: func(_ context.Context, j *batchv1.Job) { batchvalidation.GenerateJobSelector(j) },
			NewList:          func() runtime.Object { return &batchv1.JobList{} },
			Generation:       true,
			Status:           &registry.Status[*batchv1.Job]{ValidateUpdate: batchvalidation.ValidateJobStatusUpdate},
			Fields: func(j *batchv1.Job) fields.Set {
				return fields.Set{"status.successful": fmt.Sprint(j.Status.Succeeded)}
			},
			FieldLabels:    []string{"status.successful"},
			TableConvertor: tables(batchv1.Resource("jobs")),
		},
		&registry.Definition[*batchv1.CronJob]{
			GroupVersion: gv, Resource: "cronjobs", Singular: "cronjob", Kind: "CronJob", Namespaced: true,
			ShortNames: []string{"cj"}, Categories: []string{"all"},
			Validate:       batchvalidation.ValidateCronJob,
			ValidateUpdate: batchvalidation.ValidateCronJobUpdate,
			New:            func() *batchv1.CronJob { return &batchv1.CronJob{} },
			NewList:        func() runtime.Object { return &batchv1.CronJobList{} },
			Generation:     true,
			Status:         &registry.Status[*batchv1.CronJob]{ValidateUpdate: batchvalidation.ValidateCronJobStatusUpdate},
			TableConvertor: tables(batchv1.Resource("cronjobs")),
		},
	}
}
