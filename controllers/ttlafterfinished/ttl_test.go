package ttlafterfinished

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestTimeLeft(t *testing.T) {
	finished := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	job := func(ttl *int32, cond batchv1.JobConditionType, status corev1.ConditionStatus, deleting bool) *batchv1.Job {
		j := &batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ttl}}
		if cond != "" {
			j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: status, LastTransitionTime: metav1.NewTime(finished)}}
		}
		if deleting {
			j.DeletionTimestamp = &metav1.Time{Time: finished}
		}
		return j
	}
	tests := []struct {
		name        string
		job         *batchv1.Job
		now         time.Time
		wantLeft    time.Duration
		wantExpired bool
	}{
		{"no ttl", job(nil, batchv1.JobComplete, corev1.ConditionTrue, false), finished.Add(time.Hour), 0, false},
		{"not finished", job(ptr.To[int32](0), batchv1.JobSuspended, corev1.ConditionTrue, false), finished.Add(time.Hour), 0, false},
		{"complete, not yet", job(ptr.To[int32](100), batchv1.JobComplete, corev1.ConditionTrue, false), finished.Add(40 * time.Second), 60 * time.Second, false},
		{"failed, expired", job(ptr.To[int32](100), batchv1.JobFailed, corev1.ConditionTrue, false), finished.Add(100 * time.Second), 0, true},
		{"ttl zero", job(ptr.To[int32](0), batchv1.JobComplete, corev1.ConditionTrue, false), finished, 0, true},
		{"condition false", job(ptr.To[int32](0), batchv1.JobComplete, corev1.ConditionFalse, false), finished, 0, false},
		{"being deleted", job(ptr.To[int32](0), batchv1.JobComplete, corev1.ConditionTrue, true), finished, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			left, expired, err := timeLeft(tt.job, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if left != tt.wantLeft || expired != tt.wantExpired {
				t.Errorf("timeLeft = (%v, %v), want (%v, %v)", left, expired, tt.wantLeft, tt.wantExpired)
			}
		})
	}
}
