package apps

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/defaults"
	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

// defaulted applies the API server's defaults to obj, as decoding does.
func defaulted[T runtime.Object](t *testing.T, obj T) T {
	t.Helper()
	s := runtime.NewScheme()
	if err := defaults.AddToScheme(s); err != nil {
		t.Fatalf("register defaults: %v", err)
	}
	s.Default(obj)
	return obj
}

func template(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
}

var webLabels = map[string]string{"app": "web"}

func deployment(t *testing.T, mutate func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: template(webLabels)},
	}
	if mutate != nil {
		mutate(d)
	}
	return defaulted(t, d)
}

func statefulSet(t *testing.T, mutate func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", ResourceVersion: "1"},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: webLabels},
			Template:    template(webLabels),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	if mutate != nil {
		mutate(sts)
	}
	return defaulted(t, sts)
}

func daemonSet(t *testing.T, mutate func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default", ResourceVersion: "1"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: template(webLabels)},
	}
	if mutate != nil {
		mutate(ds)
	}
	return defaulted(t, ds)
}

func TestValidateDeployment(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []vt.Want
	}{
		{name: "defaulted"},
		{name: "recreate", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }},
		{name: "surge only", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromString("100%"))}
		}},
		{name: "no selector", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil }, want: []vt.Want{
			vt.Required("spec.selector", ""),
			vt.Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`"),
		}},
		{name: "unknown strategy", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, want: []vt.Want{
			vt.NotSupported("spec.strategy", `supported values: "Recreate", "RollingUpdate"`),
		}},
		{name: "both zero as percentages", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromString("0%")), MaxSurge: ptr.To(intstr.FromString("0%"))}
		}, want: []vt.Want{vt.Invalid("spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0")}},
		{name: "maxUnavailable above 100%", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromString("101%"))}
		}, want: []vt.Want{vt.Invalid("spec.strategy.rollingUpdate.maxUnavailable", "must not be greater than 100%")}},
		{name: "negative surge", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromInt32(-1))}
		}, want: []vt.Want{vt.Invalid("spec.strategy.rollingUpdate.maxSurge", "must be greater than or equal to 0")}},
		{name: "rollback annotation", mutate: func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "-2"}
		}, want: []vt.Want{vt.Invalid("spec.rollback.version", "must be greater than or equal to 0")}},
		{name: "rollback annotation not a number", mutate: func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "two"}
		}, want: []vt.Want{vt.Invalid("metadata.annotations[deprecated.deployment.rollback.to]", "failed to parse annotation[deprecated.deployment.rollback.to]=two as int64")}},
		{name: "progress deadline equal to minReadySeconds", mutate: func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds, d.Spec.ProgressDeadlineSeconds = 10, ptr.To[int32](10)
		}, want: []vt.Want{vt.Invalid("spec.progressDeadlineSeconds", "must be greater than minReadySeconds")}},
		{name: "bad selector operator", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
		}, want: []vt.Want{
			vt.Invalid("spec.selector.matchExpressions[0].operator", "not a valid selector operator"),
			vt.Invalid("spec.selector", "invalid label selector"),
		}},
		{name: "generated name needs only a DNS subdomain", mutate: func(d *appsv1.Deployment) { d.Name = "web.v2" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateDeployment(deployment(t, tt.mutate)), tt.want...)
		})
	}
}

func TestValidateDeploymentUpdate(t *testing.T) {
	old := deployment(t, nil)
	scaled := deployment(t, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](5) })
	vt.Expect(t, ValidateDeploymentUpdate(scaled, old))

	reselected := deployment(t, func(d *appsv1.Deployment) {
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "front"}}
		d.Spec.Template.Labels = map[string]string{"app": "web", "tier": "front"}
	})
	vt.Expect(t, ValidateDeploymentUpdate(reselected, old), vt.Invalid("spec.selector", "field is immutable"))
}

func TestValidateDeploymentStatusUpdate(t *testing.T) {
	old := deployment(t, nil)
	old.Status.CollisionCount = ptr.To[int32](2)
	tests := []struct {
		name   string
		status appsv1.DeploymentStatus
		want   []vt.Want
	}{
		{name: "consistent", status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, CollisionCount: ptr.To[int32](3)}},
		{name: "counts", status: appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 3, UnavailableReplicas: -1, CollisionCount: ptr.To[int32](2)}, want: []vt.Want{
			vt.Invalid("status.readyReplicas", "cannot be greater than status.replicas"),
			vt.Invalid("status.availableReplicas", "cannot be greater than status.replicas"),
			vt.Invalid("status.availableReplicas", "cannot be greater than readyReplicas"),
			vt.Invalid("status.unavailableReplicas", "must be greater than or equal to 0"),
		}},
		{name: "collision count decremented", status: appsv1.DeploymentStatus{CollisionCount: ptr.To[int32](1)}, want: []vt.Want{
			vt.Invalid("status.collisionCount", "cannot be decremented"),
		}},
		{name: "collision count dropped", status: appsv1.DeploymentStatus{}, want: []vt.Want{
			vt.Invalid("status.collisionCount", "cannot be decremented"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := old.DeepCopy()
			d.Status = tt.status
			vt.Expect(t, ValidateDeploymentStatusUpdate(d, old), tt.want...)
		})
	}
}

func TestValidateReplicaSetStatusUpdate(t *testing.T) {
	rs := defaulted(t, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: template(webLabels)},
	})
	vt.Expect(t, ValidateReplicaSet(rs))
	updated := rs.DeepCopy()
	updated.Status = appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 3, ReadyReplicas: 1, AvailableReplicas: 2, TerminatingReplicas: ptr.To[int32](-1)}
	vt.Expect(t, ValidateReplicaSetStatusUpdate(updated, rs),
		vt.Invalid("status.fullyLabeledReplicas", "cannot be greater than status.replicas"),
		vt.Invalid("status.availableReplicas", "cannot be greater than readyReplicas"),
		vt.Invalid("status.terminatingReplicas", "must be greater than or equal to 0"),
	)
	reselected := rs.DeepCopy()
	reselected.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "x": "y"}}
	reselected.Spec.Template.Labels = map[string]string{"app": "web", "x": "y"}
	vt.Expect(t, ValidateReplicaSetUpdate(reselected, rs), vt.Invalid("spec.selector", "field is immutable"))
}

const stsUpdateForbidden = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"

func TestValidateStatefulSetUpdate(t *testing.T) {
	old := statefulSet(t, nil)
	vt.Expect(t, ValidateStatefulSet(old))
	tests := []struct {
		name   string
		old    *appsv1.StatefulSet
		mutate func(*appsv1.StatefulSet)
		want   []vt.Want
	}{
		{name: "mutable fields", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.Replicas = ptr.To[int32](5)
			s.Spec.MinReadySeconds = 3
			s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 2}
			s.Spec.RevisionHistoryLimit = ptr.To[int32](1)
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
			s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
			s.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		}},
		{name: "claim templates without type meta", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates[0].TypeMeta = metav1.TypeMeta{}
		}},
		{name: "service name", mutate: func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "other" }, want: []vt.Want{vt.Forbidden("spec", stsUpdateForbidden)}},
		{name: "pod management policy", mutate: func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }, want: []vt.Want{vt.Forbidden("spec", stsUpdateForbidden)}},
		{name: "claim templates", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}, want: []vt.Want{vt.Forbidden("spec", stsUpdateForbidden)}},
		{name: "invalid immutable service name is tolerated", old: statefulSet(t, func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "Bad_Name" }),
			mutate: func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "Bad_Name"; s.Spec.Replicas = ptr.To[int32](2) }},
		{name: "invalid stored template is not revalidated", old: statefulSet(t, func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Name = "Bad_Name" }),
			mutate: func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Name = "Still_Bad" }},
		{name: "invalid template is caught when the stored one was valid", mutate: func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Name = "Bad_Name" },
			want: []vt.Want{vt.Invalid("spec.template.spec.containers[0].name", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := old
			if tt.old != nil {
				base = tt.old
			}
			updated := base.DeepCopy()
			tt.mutate(updated)
			vt.Expect(t, ValidateStatefulSetUpdate(updated, base), tt.want...)
		})
	}
}

func TestValidateStatefulSetSpec(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []vt.Want
	}{
		{name: "recreate strategy is behind an off gate", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RecreateStatefulSetStrategyType}
		}, want: []vt.Want{vt.Invalid("spec.updateStrategy", "must be 'RollingUpdate' or 'OnDelete'")}},
		{name: "maxUnavailable 0", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](-1), MaxUnavailable: ptr.To(intstr.FromInt32(0))}
		}, want: []vt.Want{
			vt.Invalid("spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0"),
			vt.Invalid("spec.updateStrategy.rollingUpdate.partition", "must be greater than or equal to 0"),
		}},
		{name: "empty selector", mutate: func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} }, want: []vt.Want{
			vt.Invalid("spec.selector", "empty selector is invalid for statefulset"),
		}},
		{name: "claim template replaces a template volume of its name", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data"}}
		}},
		{name: "restart policy", mutate: func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, want: []vt.Want{
			vt.NotSupported("spec.template.spec.restartPolicy", `supported values: "Always"`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateStatefulSet(statefulSet(t, tt.mutate)), tt.want...)
		})
	}
}

func TestValidateStatefulSetStatusUpdate(t *testing.T) {
	old := statefulSet(t, nil)
	updated := old.DeepCopy()
	updated.Status = appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, CurrentReplicas: 2, AvailableReplicas: 2, ObservedGeneration: -1}
	vt.Expect(t, ValidateStatefulSetStatusUpdate(updated, old),
		vt.Invalid("status.currentReplicas", "cannot be greater than status.replicas"),
		vt.Invalid("status.availableReplicas", "cannot be greater than status.replicas"),
		vt.Invalid("status.availableReplicas", "cannot be greater than status.readyReplicas"),
		vt.Invalid("status.observedGeneration", "must be greater than or equal to 0"),
	)
}

func TestDaemonSetTemplateGeneration(t *testing.T) {
	created := daemonSet(t, nil)
	if SetDaemonSetTemplateGeneration(created, nil) {
		t.Error("create reported a template change")
	}
	if got := created.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Fatalf("template generation on create = %q, want 1", got)
	}
	vt.Expect(t, ValidateDaemonSet(created))

	// A spec change outside the template keeps the generation.
	relabelled := created.DeepCopy()
	relabelled.Spec.MinReadySeconds = 5
	if SetDaemonSetTemplateGeneration(relabelled, created) {
		t.Error("a spec change outside the template reported a template change")
	}
	vt.Expect(t, ValidateDaemonSetUpdate(relabelled, created))

	changed := created.DeepCopy()
	changed.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	if !SetDaemonSetTemplateGeneration(changed, created) {
		t.Error("a template change was not reported")
	}
	if got := changed.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "2" {
		t.Fatalf("template generation after a template change = %q, want 2", got)
	}
	vt.Expect(t, ValidateDaemonSetUpdate(changed, created))

	// Without the strategy's bookkeeping, upstream's rules apply.
	unbumped := created.DeepCopy()
	unbumped.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	vt.Expect(t, ValidateDaemonSetUpdate(unbumped, created), vt.Invalid("spec.templateGeneration", "must be incremented upon template update"))
	bumped := created.DeepCopy()
	bumped.Annotations[appsv1.DeprecatedTemplateGeneration] = "3"
	vt.Expect(t, ValidateDaemonSetUpdate(bumped, created), vt.Invalid("spec.templateGeneration", "must not be incremented without template update"))
	decremented := changed.DeepCopy()
	decremented.Annotations[appsv1.DeprecatedTemplateGeneration] = "1"
	decremented.Spec.Template.Spec.Containers[0].Image = "nginx:1.29"
	vt.Expect(t, ValidateDaemonSetUpdate(decremented, changed),
		vt.Invalid("spec.templateGeneration", "must not be decremented"),
	)
}

func TestValidateDaemonSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.DaemonSet)
		want   []vt.Want
	}{
		{name: "no selector is not reported as required", mutate: func(d *appsv1.DaemonSet) { d.Spec.Selector = nil }, want: []vt.Want{
			vt.Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`"),
		}},
		{name: "both zero", mutate: func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("0%")), MaxSurge: ptr.To(intstr.FromInt32(0))}
		}, want: []vt.Want{vt.Required("spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0")}},
		{name: "rolling update unset", mutate: func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
		}},
		{name: "unknown strategy", mutate: func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = "Never" }, want: []vt.Want{
			vt.NotSupported("spec.updateStrategy", `supported values: "RollingUpdate", "OnDelete"`),
		}},
		{name: "unparsable template generation", mutate: func(d *appsv1.DaemonSet) {
			d.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: "one"}
		}, want: []vt.Want{vt.Invalid("metadata.annotations[deprecated.daemonset.template.generation]", "must be an integer")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateDaemonSet(daemonSet(t, tt.mutate)), tt.want...)
		})
	}
	old := daemonSet(t, func(d *appsv1.DaemonSet) { d.Status.CollisionCount = ptr.To[int32](1) })
	updated := old.DeepCopy()
	updated.Status = appsv1.DaemonSetStatus{NumberReady: -1}
	vt.Expect(t, ValidateDaemonSetStatusUpdate(updated, old),
		vt.Invalid("status.numberReady", "must be greater than or equal to 0"),
		vt.Invalid("status.collisionCount", "cannot be decremented"),
	)
}

func TestValidateControllerRevision(t *testing.T) {
	revision := func(raw string) *appsv1.ControllerRevision {
		cr := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "db-1", Namespace: "default", ResourceVersion: "1"}, Revision: 1}
		if raw != "" {
			cr.Data.Raw = []byte(raw)
		}
		return cr
	}
	vt.Expect(t, ValidateControllerRevision(revision(`{"spec":{}}`)))
	vt.Expect(t, ValidateControllerRevision(revision("")), vt.Required("data", "data is mandatory"))
	vt.Expect(t, ValidateControllerRevision(revision("null")), vt.Required("data", "data is mandatory"))
	vt.Expect(t, ValidateControllerRevision(revision(`"text"`)), vt.Required("data", "data must be a valid JSON object"))
	vt.Expect(t, ValidateControllerRevision(revision(`{`)), vt.Invalid("data", "error parsing data: unexpected end of JSON input"))
	typed := revision("")
	typed.Data.Object = &appsv1.StatefulSet{}
	vt.Expect(t, ValidateControllerRevision(typed))

	old := revision(`{"a":1}`)
	vt.Expect(t, ValidateControllerRevisionUpdate(revision(`{"a":1}`), old))
	vt.Expect(t, ValidateControllerRevisionUpdate(revision(`{"a":2}`), old), vt.Invalid("data", "field is immutable"))
	renumbered := revision(`{"a":1}`)
	renumbered.Revision = 7
	vt.Expect(t, ValidateControllerRevisionUpdate(renumbered, old))
}

func TestIntOrPercent(t *testing.T) {
	tests := []struct {
		value intstr.IntOrString
		want  []vt.Want
	}{
		{value: intstr.FromInt32(3)},
		{value: intstr.FromString("100%")},
		{value: intstr.FromInt32(-3), want: []vt.Want{vt.Invalid("f", "must be greater than or equal to 0")}},
		{value: intstr.FromString("3"), want: []vt.Want{vt.Invalid("f", "a valid percent string must be")}},
		{value: intstr.FromString("120%"), want: []vt.Want{vt.Invalid("f", "must not be greater than 100%")}},
		{value: intstr.IntOrString{Type: 7}, want: []vt.Want{vt.Invalid("f", "must be an integer or percentage (e.g '5%%')")}},
	}
	for _, tt := range tests {
		t.Run(tt.value.String(), func(t *testing.T) {
			p := field.NewPath("f")
			errs := append(ValidatePositiveIntOrPercent(tt.value, p), IsNotMoreThan100Percent(tt.value, p)...)
			vt.Expect(t, errs, tt.want...)
		})
	}
}
