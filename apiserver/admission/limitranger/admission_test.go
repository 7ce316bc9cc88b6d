package limitranger

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func limitRange(items ...corev1.LimitRangeItem) *corev1.LimitRange {
	return &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "lr", Namespace: "ns"}, Spec: corev1.LimitRangeSpec{Limits: items}}
}

// newPlugin returns a plugin whose informer holds cached and whose client
// holds live.
func newPlugin(t *testing.T, cached *corev1.LimitRange, live ...runtime.Object) *Plugin {
	t.Helper()
	f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
	p := New()
	p.SetExternalKubeInformerFactory(f)
	p.SetExternalKubeClientSet(fake.NewSimpleClientset(live...))
	if cached != nil {
		if err := f.Core().V1().LimitRanges().Informer().GetIndexer().Add(cached); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	return p
}

func attrs(obj runtime.Object, kind, res string, op admission.Operation) admission.Attributes {
	return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind(kind), "ns", "x",
		corev1.SchemeGroupVersion.WithResource(res), "", op, nil, false, nil)
}

func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

func TestAdmitDefaults(t *testing.T) {
	lr := limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Default: rl("cpu", "200m", "memory", "64Mi"), DefaultRequest: rl("cpu", "100m")})
	tests := []struct {
		name     string
		pod      *corev1.Pod
		live     bool
		wantReq  string
		wantLim  string
		wantNote string
		wantInit string
	}{
		{
			name:    "empty container defaulted",
			pod:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}}},
			wantReq: "100m", wantLim: "200m",
			wantNote: "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container app",
		},
		{
			name:    "own values kept",
			pod:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", rl("cpu", "10m"), rl("cpu", "20m"))}}},
			wantReq: "10m", wantLim: "20m",
			wantNote: "LimitRanger plugin set: memory limit for container app",
		},
		{
			name:    "init containers too",
			pod:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", rl("cpu", "1m"), rl("cpu", "1m", "memory", "1Mi"))}, InitContainers: []corev1.Container{container("setup", nil, nil)}}},
			wantReq: "1m", wantLim: "1m", wantInit: "200m",
			wantNote: "LimitRanger plugin set: cpu request for init container setup; cpu, memory limit for init container setup",
		},
		{
			name:    "live lookup when the informer is empty",
			pod:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}}},
			live:    true,
			wantReq: "100m", wantLim: "200m",
			wantNote: "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container app",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p *Plugin
			if tc.live {
				p = newPlugin(t, nil, lr)
			} else {
				p = newPlugin(t, lr)
			}
			if err := p.Admit(context.Background(), attrs(tc.pod, "Pod", "pods", admission.Create), nil); err != nil {
				t.Fatal(err)
			}
			c := tc.pod.Spec.Containers[0].Resources
			if c.Requests.Cpu().String() != tc.wantReq || c.Limits.Cpu().String() != tc.wantLim {
				t.Errorf("cpu request/limit = %s/%s, want %s/%s", c.Requests.Cpu(), c.Limits.Cpu(), tc.wantReq, tc.wantLim)
			}
			if tc.wantInit != "" {
				if got := tc.pod.Spec.InitContainers[0].Resources.Limits.Cpu().String(); got != tc.wantInit {
					t.Errorf("init limit = %s, want %s", got, tc.wantInit)
				}
			}
			if got := tc.pod.Annotations[Annotation]; got != tc.wantNote {
				t.Errorf("annotation = %q, want %q", got, tc.wantNote)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		lr      *corev1.LimitRange
		obj     runtime.Object
		wantErr string
	}{
		{
			name:    "container max limit",
			lr:      limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: rl("cpu", "500m")}),
			obj:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", nil, rl("cpu", "1"))}}},
			wantErr: "maximum cpu usage per Container is 500m, but limit is 1",
		},
		{
			name:    "container max without limit",
			lr:      limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: rl("memory", "1Gi")}),
			obj:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", nil, nil)}}},
			wantErr: "maximum memory usage per Container is 1Gi.  No limit is specified",
		},
		{
			name:    "container min request",
			lr:      limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: rl("cpu", "100m")}),
			obj:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", rl("cpu", "50m"), nil)}}},
			wantErr: "minimum cpu usage per Container is 100m, but request is 50m",
		},
		{
			name:    "container ratio",
			lr:      limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, MaxLimitRequestRatio: rl("cpu", "2")}),
			obj:     &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", rl("cpu", "100m"), rl("cpu", "300m"))}}},
			wantErr: "cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000",
		},
		{
			name: "within bounds",
			lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: rl("cpu", "10m"), Max: rl("cpu", "1"), MaxLimitRequestRatio: rl("cpu", "4")}),
			obj:  &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", rl("cpu", "100m"), rl("cpu", "300m"))}}},
		},
		{
			name: "pod max sums containers",
			lr:   limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: rl("cpu", "1")}),
			obj: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
				container("a", nil, rl("cpu", "600m")), container("b", nil, rl("cpu", "600m"))}}},
			wantErr: "maximum cpu usage per Pod is 1, but limit is 1200m",
		},
		{
			name:    "claim max request",
			lr:      limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Max: rl("storage", "1Gi")}),
			obj:     &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "2Gi")}}},
			wantErr: "maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 2Gi",
		},
		{
			name:    "claim min request",
			lr:      limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Min: rl("storage", "1Gi")}),
			obj:     &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "100Mi")}}},
			wantErr: "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 100Mi",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, tc.lr)
			var a admission.Attributes
			if _, ok := tc.obj.(*corev1.Pod); ok {
				a = attrs(tc.obj, "Pod", "pods", admission.Create)
			} else {
				a = attrs(tc.obj, "PersistentVolumeClaim", "persistentvolumeclaims", admission.Create)
			}
			err := p.Validate(context.Background(), a, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestPodUpdatesAreNotChecked(t *testing.T) {
	p := newPlugin(t, limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: rl("cpu", "1m")}))
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("app", nil, rl("cpu", "1"))}}}
	if err := p.Validate(context.Background(), attrs(pod, "Pod", "pods", admission.Update), nil); err != nil {
		t.Fatalf("pod update checked: %v", err)
	}
}
