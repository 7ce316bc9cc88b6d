package resourcequota

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/utils/ptr"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func podWith(requests, limits corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}}}}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		e    quota.Evaluator
		obj  runtime.Object
		want corev1.ResourceList
	}{
		{"best-effort pod", &podEvaluator{}, podWith(nil, nil), rl("pods", "1", "count/pods", "1")},
		{"pod compute", &podEvaluator{}, podWith(rl("cpu", "100m", "memory", "1Gi"), rl("cpu", "200m")),
			rl("pods", "1", "count/pods", "1", "cpu", "100m", "requests.cpu", "100m", "memory", "1Gi", "requests.memory", "1Gi", "limits.cpu", "200m")},
		{"pod with init container takes the max", &podEvaluator{}, &corev1.Pod{Spec: corev1.PodSpec{
			Containers:     []corev1.Container{{Name: "a", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "100m")}}},
			InitContainers: []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "300m")}}},
		}}, rl("pods", "1", "count/pods", "1", "cpu", "300m", "requests.cpu", "300m")},
		{"finished pod counts only as an object", &podEvaluator{}, &corev1.Pod{Spec: podWith(rl("cpu", "1"), nil).Spec, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
			rl("count/pods", "1")},
		{"extended resource", &podEvaluator{}, podWith(rl("example.com/gpu", "2"), rl("example.com/gpu", "2")),
			rl("pods", "1", "count/pods", "1", "requests.example.com/gpu", "2")},
		{"cluster IP service", &serviceEvaluator{}, &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}},
			rl("services", "1", "count/services", "1")},
		{"node port service", &serviceEvaluator{}, &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}, {Port: 81}}}},
			rl("services", "1", "count/services", "1", "services.nodeports", "2")},
		{"load balancer", &serviceEvaluator{}, &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}},
			rl("services", "1", "count/services", "1", "services.loadbalancers", "1", "services.nodeports", "1")},
		{"load balancer without node ports", &serviceEvaluator{}, &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: ptr.To(false), Ports: []corev1.ServicePort{{Port: 80}}}},
			rl("services", "1", "count/services", "1", "services.loadbalancers", "1")},
		{"claim with class", &pvcEvaluator{}, &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("gold"), Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "5Gi")}}},
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "5Gi",
				"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1", "gold.storageclass.storage.k8s.io/requests.storage", "5Gi")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.e.Usage(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if !quota.Equals(got, tc.want) {
				t.Errorf("usage = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPodScopes(t *testing.T) {
	burstable := podWith(rl("cpu", "100m"), nil)
	bestEffort := podWith(nil, nil)
	deadline := podWith(nil, nil)
	deadline.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
	classed := podWith(nil, nil)
	classed.Spec.PriorityClassName = "high"
	affinity := podWith(nil, nil)
	affinity.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{Namespaces: []string{"other"}, TopologyKey: "zone"}}}}
	sel := func(scope corev1.ResourceQuotaScope, op corev1.ScopeSelectorOperator, values ...string) corev1.ScopedResourceSelectorRequirement {
		return corev1.ScopedResourceSelectorRequirement{ScopeName: scope, Operator: op, Values: values}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		sel  corev1.ScopedResourceSelectorRequirement
		want bool
	}{
		{"terminating", deadline, sel(corev1.ResourceQuotaScopeTerminating, corev1.ScopeSelectorOpExists), true},
		{"not terminating", bestEffort, sel(corev1.ResourceQuotaScopeNotTerminating, corev1.ScopeSelectorOpExists), true},
		{"terminating excludes", bestEffort, sel(corev1.ResourceQuotaScopeTerminating, corev1.ScopeSelectorOpExists), false},
		{"best effort", bestEffort, sel(corev1.ResourceQuotaScopeBestEffort, corev1.ScopeSelectorOpExists), true},
		{"burstable is not best effort", burstable, sel(corev1.ResourceQuotaScopeBestEffort, corev1.ScopeSelectorOpExists), false},
		{"not best effort", burstable, sel(corev1.ResourceQuotaScopeNotBestEffort, corev1.ScopeSelectorOpExists), true},
		{"priority class in", classed, sel(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpIn, "high", "low"), true},
		{"priority class not in", classed, sel(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpNotIn, "high"), false},
		{"priority class exists", classed, sel(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpExists), true},
		{"no priority class does not exist", bestEffort, sel(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpDoesNotExist), true},
		{"cross-namespace affinity", affinity, sel(corev1.ResourceQuotaScopeCrossNamespacePodAffinity, corev1.ScopeSelectorOpExists), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := podMatchesScope(tc.sel, tc.pod)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPodConstraints(t *testing.T) {
	e := &podEvaluator{}
	err := e.Constraints([]corev1.ResourceName{"limits.cpu", "requests.memory", "pods"}, &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "b", Resources: corev1.ResourceRequirements{Limits: rl("cpu", "1")}},
		{Name: "a"},
	}}})
	want := "must specify limits.cpu for: a; requests.memory for: a,b"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if err := e.Constraints([]corev1.ResourceName{"pods"}, podWith(nil, nil)); err != nil {
		t.Errorf("pods-only quota constrained: %v", err)
	}
}

func TestNeedsStatus(t *testing.T) {
	q := func(spec, hard, used corev1.ResourceList) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: corev1.ResourceQuotaSpec{Hard: spec}, Status: corev1.ResourceQuotaStatus{Hard: hard, Used: used}}
	}
	tests := []struct {
		name string
		q    *corev1.ResourceQuota
		want bool
	}{
		{"new quota", q(rl("pods", "1"), nil, nil), true},
		{"in sync", q(rl("pods", "1"), rl("pods", "1"), rl("pods", "0")), false},
		{"spec raised", q(rl("pods", "2"), rl("pods", "1"), rl("pods", "0")), true},
		{"usage missing", q(rl("pods", "1", "secrets", "1"), rl("pods", "1", "secrets", "1"), rl("pods", "0")), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsStatus(tc.q); got != tc.want {
				t.Errorf("needsStatus = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIgnoredResources(t *testing.T) {
	cfg := NewConfiguration(nil)
	for gr := range cfg.IgnoredResources() {
		if strings.Contains(gr.Resource, "pods") {
			t.Errorf("pods ignored")
		}
	}
	if len(cfg.Evaluators()) != 3+len(legacyCounted) {
		t.Errorf("evaluators = %d", len(cfg.Evaluators()))
	}
}
