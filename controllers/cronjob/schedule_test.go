package cronjob

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		schedule string
		timeZone *string
		from     string
		wantNext string
		wantErr  bool
	}{
		{schedule: "*/5 * * * *", from: "2026-03-01T10:02:00Z", wantNext: "2026-03-01T10:05:00Z"},
		{schedule: "@hourly", from: "2026-03-01T10:02:00Z", wantNext: "2026-03-01T11:00:00Z"},
		{schedule: "@daily", from: "2026-03-01T10:02:00Z", wantNext: "2026-03-02T00:00:00Z"},
		{schedule: "0 9 * * 1", from: "2026-03-01T10:02:00Z", wantNext: "2026-03-02T09:00:00Z"}, // Sunday → Monday
		{schedule: "0 9 * * *", timeZone: ptr.To("Europe/Paris"), from: "2026-03-01T10:02:00Z", wantNext: "2026-03-02T08:00:00Z"},
		{schedule: "0 9 * * *", timeZone: ptr.To("America/New_York"), from: "2026-03-01T10:02:00Z", wantNext: "2026-03-01T14:00:00Z"},
		{schedule: "* * * *", wantErr: true},
		{schedule: "61 * * * *", wantErr: true},
		{schedule: "0 0 * * *", timeZone: ptr.To("Mars/Olympus"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.schedule+"/"+ptr.Deref(tt.timeZone, ""), func(t *testing.T) {
			cj := &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: tt.schedule, TimeZone: tt.timeZone}}
			sched, err := parseSchedule(cj)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseSchedule(%q) succeeded, want an error", tt.schedule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sched.Next(mustTime(t, tt.from)); !got.Equal(mustTime(t, tt.wantNext)) {
				t.Errorf("Next(%s) = %s, want %s", tt.from, got.UTC().Format(time.RFC3339), tt.wantNext)
			}
		})
	}
}

func TestMostRecentScheduleTime(t *testing.T) {
	created := "2026-03-01T10:00:30Z"
	tests := []struct {
		name           string
		schedule       string
		lastSchedule   string
		deadline       *int64
		now            string
		includeDL      bool
		wantRecent     string // "" means none
		wantMissed     int64
		wantNextSyncIn time.Duration
	}{
		{name: "not yet", schedule: "*/5 * * * *", now: "2026-03-01T10:04:00Z", wantNextSyncIn: time.Minute + nextScheduleDelta},
		{name: "one due", schedule: "*/5 * * * *", now: "2026-03-01T10:05:10Z", wantRecent: "2026-03-01T10:05:00Z", wantMissed: 1, wantNextSyncIn: 4*time.Minute + 50*time.Second + nextScheduleDelta},
		{name: "several missed", schedule: "*/5 * * * *", now: "2026-03-01T10:21:00Z", wantRecent: "2026-03-01T10:20:00Z", wantMissed: 4, wantNextSyncIn: 4*time.Minute + nextScheduleDelta},
		{name: "after last schedule", schedule: "*/5 * * * *", lastSchedule: "2026-03-01T10:20:00Z", now: "2026-03-01T10:24:59Z", wantNextSyncIn: time.Second + nextScheduleDelta},
		{name: "many missed", schedule: "* * * * *", now: "2026-03-01T12:00:30Z", wantRecent: "2026-03-01T12:00:00Z", wantMissed: 120},
		{name: "deadline limits missed count", schedule: "* * * * *", deadline: ptr.To[int64](200), includeDL: true, now: "2026-03-01T12:00:30Z", wantRecent: "2026-03-01T12:00:00Z", wantMissed: 3},
		{name: "irregular schedule", schedule: "0 10,11,17 * * *", now: "2026-03-01T16:59:00Z", wantRecent: "2026-03-01T11:00:00Z", wantMissed: 1},
		{name: "irregular, days later", schedule: "0 10,11,17 * * *", now: "2026-03-04T10:30:00Z", wantRecent: "2026-03-04T10:00:00Z", wantMissed: 12}, // estimated from the first interval, as upstream,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := &batchv1.CronJob{
				ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(mustTime(t, created))},
				Spec:       batchv1.CronJobSpec{Schedule: tt.schedule, StartingDeadlineSeconds: tt.deadline},
			}
			if tt.lastSchedule != "" {
				cj.Status.LastScheduleTime = &metav1.Time{Time: mustTime(t, tt.lastSchedule)}
			}
			sched, err := parseSchedule(cj)
			if err != nil {
				t.Fatal(err)
			}
			now := mustTime(t, tt.now)
			_, recent, missed, err := mostRecentScheduleTime(cj, now, sched, tt.includeDL)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantRecent == "" && recent != nil:
				t.Errorf("most recent = %s, want none", recent)
			case tt.wantRecent != "" && (recent == nil || !recent.Equal(mustTime(t, tt.wantRecent))):
				t.Errorf("most recent = %v, want %s", recent, tt.wantRecent)
			}
			if missed != tt.wantMissed {
				t.Errorf("missed = %d, want %d", missed, tt.wantMissed)
			}
			if tt.wantNextSyncIn != 0 {
				if got := nextScheduleTimeDuration(cj, now, sched); got != tt.wantNextSyncIn {
					t.Errorf("next sync in %v, want %v", got, tt.wantNextSyncIn)
				}
			}
		})
	}
}

func TestJobName(t *testing.T) {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "backup"}}
	at := mustTime(t, "2026-03-01T10:05:00Z")
	if got, want := jobName(cj, at), "backup-29539325"; got != want {
		t.Errorf("jobName = %q, want %q", got, want)
	}
	job, err := newJob(&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "ns", UID: "u"}, Spec: batchv1.CronJobSpec{TimeZone: ptr.To("Asia/Tokyo")}}, at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation], "2026-03-01T19:05:00+09:00"; got != want {
		t.Errorf("scheduled timestamp annotation = %q, want %q", got, want)
	}
	if ref := metav1.GetControllerOf(job); ref == nil || ref.UID != "u" || ref.Kind != "CronJob" {
		t.Errorf("controller ref = %+v", ref)
	}
}
