package defaults

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func bareTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}
}

func defaultedTemplate(restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	spec := defaultedSpec("nginx:1.27", corev1.PullIfNotPresent)
	if restart != "" {
		spec.RestartPolicy = restart
	}
	return corev1.PodTemplateSpec{Spec: spec}
}

func TestWorkloadDefaults(t *testing.T) {
	s := schemeWithDefaults(t)
	fs := corev1.PersistentVolumeFilesystem
	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "deployment",
			obj:  &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: bareTemplate()}},
			want: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromString("25%")), MaxSurge: ptr.To(intstr.FromString("25%")),
				}},
				RevisionHistoryLimit: ptr.To[int32](10), ProgressDeadlineSeconds: ptr.To[int32](600),
				Template: defaultedTemplate(""),
			}},
		},
		{
			name: "deployment recreate keeps no rolling update",
			obj:  &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](0), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}, Template: bareTemplate()}},
			want: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](0), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				RevisionHistoryLimit: ptr.To[int32](10), ProgressDeadlineSeconds: ptr.To[int32](600), Template: defaultedTemplate(""),
			}},
		},
		{
			name: "replicaset",
			obj:  &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: bareTemplate()}},
			want: &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1), Template: defaultedTemplate("")}},
		},
		{
			name: "statefulset",
			obj: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: bareTemplate(), VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
			}}}},
			want: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
				Replicas: ptr.To[int32](1), PodManagementPolicy: appsv1.OrderedReadyPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)}},
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				},
				RevisionHistoryLimit: ptr.To[int32](10), Template: defaultedTemplate(""),
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
					ObjectMeta: metav1.ObjectMeta{Name: "data"},
					Spec:       corev1.PersistentVolumeClaimSpec{VolumeMode: &fs},
					Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
				}},
			}},
		},
		{
			name: "statefulset OnDelete gets no partition",
			obj:  &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}, Template: bareTemplate()}},
			want: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
				Replicas: ptr.To[int32](1), PodManagementPolicy: appsv1.OrderedReadyPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				},
				RevisionHistoryLimit: ptr.To[int32](10), Template: defaultedTemplate(""),
			}},
		},
		{
			name: "daemonset",
			obj:  &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: bareTemplate()}},
			want: &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0)),
				}},
				RevisionHistoryLimit: ptr.To[int32](10), Template: defaultedTemplate(""),
			}},
		},
		{
			name: "job",
			obj: &batchv1.Job{Spec: batchv1.JobSpec{Template: func() corev1.PodTemplateSpec {
				t := bareTemplate()
				t.Labels = map[string]string{"app": "x"}
				t.Spec.RestartPolicy = corev1.RestartPolicyNever
				return t
			}()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: batchv1.JobSpec{
				Completions: ptr.To[int32](1), Parallelism: ptr.To[int32](1), BackoffLimit: ptr.To[int32](6),
				CompletionMode: ptr.To(batchv1.NonIndexedCompletion), Suspend: ptr.To(false),
				PodReplacementPolicy: ptr.To(batchv1.TerminatingOrFailed), ManualSelector: ptr.To(false),
				Template: func() corev1.PodTemplateSpec {
					t := defaultedTemplate(corev1.RestartPolicyNever)
					t.Labels = map[string]string{"app": "x"}
					return t
				}(),
			}},
		},
		{
			name: "job with per-index limit and failure policy",
			obj: &batchv1.Job{Spec: batchv1.JobSpec{
				Parallelism: ptr.To[int32](3), BackoffLimitPerIndex: ptr.To[int32](1),
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
				}}},
				Template: bareTemplate(),
			}},
			want: &batchv1.Job{Spec: batchv1.JobSpec{
				Parallelism: ptr.To[int32](3), BackoffLimit: ptr.To[int32](math.MaxInt32), BackoffLimitPerIndex: ptr.To[int32](1),
				CompletionMode: ptr.To(batchv1.NonIndexedCompletion), Suspend: ptr.To(false),
				PodReplacementPolicy: ptr.To(batchv1.Failed), ManualSelector: ptr.To(false),
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
				}}},
				Template: defaultedTemplate(""),
			}},
		},
		{
			name: "cronjob leaves its job spec to the Jobs",
			obj:  &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: bareTemplate()}}}},
			want: &batchv1.CronJob{Spec: batchv1.CronJobSpec{
				Schedule: "@daily", ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: ptr.To(false),
				SuccessfulJobsHistoryLimit: ptr.To[int32](3), FailedJobsHistoryLimit: ptr.To[int32](1),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: defaultedTemplate("")}},
			}},
		},
		{
			name: "pdb has no defaults",
			obj:  &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1))}},
			want: &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1))}},
		},
		{
			name: "hpa v1 gets only minReplicas",
			obj:  &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3}},
			want: &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, MinReplicas: ptr.To[int32](1)}},
		},
		{
			name: "hpa v2",
			obj:  &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3}},
			want: &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				MaxReplicas: 3, MinReplicas: ptr.To[int32](1),
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
				}}},
			}},
		},
		{
			name: "hpa v2 behavior",
			obj: &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				MinReplicas: ptr.To[int32](2), MaxReplicas: 3,
				Metrics:  []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)}},
			}},
			want: &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				MinReplicas: ptr.To[int32](2), MaxReplicas: 3,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
					ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
						Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}, {Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}},
					ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60), SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
						Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}},
				},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Default(tt.obj)
			if d := cmp.Diff(tt.want, tt.obj); d != "" {
				t.Errorf("defaults differ (-want +got):\n%s", d)
			}
		})
	}
}

func TestWorkloadListDefaults(t *testing.T) {
	s := schemeWithDefaults(t)
	list := &appsv1.DeploymentList{Items: []appsv1.Deployment{{Spec: appsv1.DeploymentSpec{Template: bareTemplate()}}}}
	s.Default(list)
	if got := list.Items[0].Spec.Replicas; got == nil || *got != 1 {
		t.Errorf("list item replicas = %v, want 1", got)
	}
	jobs := &batchv1.JobList{Items: []batchv1.Job{{}}}
	s.Default(jobs)
	if got := jobs.Items[0].Spec.BackoffLimit; got == nil || *got != 6 {
		t.Errorf("list item backoffLimit = %v, want 6", got)
	}
}
