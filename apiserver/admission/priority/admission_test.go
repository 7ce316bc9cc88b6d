package priority

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func pc(name string, value int32, def bool, policy *corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: def, PreemptionPolicy: policy}
}

// newPlugin returns a plugin whose informer holds cached and whose client
// additionally holds live.
func newPlugin(t *testing.T, cached []*schedulingv1.PriorityClass, live ...runtime.Object) *Plugin {
	t.Helper()
	objs := live
	for _, c := range cached {
		objs = append(objs, c)
	}
	client := fake.NewSimpleClientset(objs...)
	f := informers.NewSharedInformerFactory(fake.NewSimpleClientset(), 0)
	p := New()
	p.SetExternalKubeClientSet(client)
	p.SetExternalKubeInformerFactory(f)
	for _, c := range cached {
		if err := f.Scheduling().V1().PriorityClasses().Informer().GetIndexer().Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	return p
}

func podCreate(pod *corev1.Pod) admission.Attributes {
	return admission.NewAttributesRecord(pod, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
		corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, &metav1.CreateOptions{}, false, nil)
}

func TestAdmitPod(t *testing.T) {
	never := ptr.To(corev1.PreemptNever)
	lower := ptr.To(corev1.PreemptLowerPriority)
	classes := []*schedulingv1.PriorityClass{pc("high", 1000, false, lower), pc("quiet", 5, false, never)}
	tests := []struct {
		name       string
		classes    []*schedulingv1.PriorityClass
		live       []runtime.Object
		className  string
		priority   *int32
		policy     *corev1.PreemptionPolicy
		wantClass  string
		wantValue  int32
		wantPolicy corev1.PreemptionPolicy
		wantErr    string
	}{
		{name: "no class, no default", classes: classes, wantValue: 0, wantPolicy: corev1.PreemptLowerPriority},
		{name: "global default", classes: append(classes, pc("dflt", 7, true, never)), wantClass: "dflt", wantValue: 7, wantPolicy: corev1.PreemptNever},
		{name: "lowest of several defaults", classes: append(classes, pc("d1", 7, true, lower), pc("d2", 3, true, lower)), wantClass: "d2", wantValue: 3, wantPolicy: corev1.PreemptLowerPriority},
		{name: "named class", classes: classes, className: "quiet", wantClass: "quiet", wantValue: 5, wantPolicy: corev1.PreemptNever},
		{name: "class only the client knows", classes: classes, live: []runtime.Object{pc("fresh", 9, false, lower)}, className: "fresh", wantClass: "fresh", wantValue: 9, wantPolicy: corev1.PreemptLowerPriority},
		{name: "missing class", classes: classes, className: "x", wantErr: "no PriorityClass with name x was found"},
		{name: "matching explicit priority", classes: classes, className: "high", priority: ptr.To[int32](1000), wantClass: "high", wantValue: 1000, wantPolicy: corev1.PreemptLowerPriority},
		{name: "conflicting priority", classes: classes, className: "high", priority: ptr.To[int32](1), wantErr: "the integer value of priority (1) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"},
		{name: "conflicting policy", classes: classes, className: "quiet", policy: lower, wantErr: "the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, tc.classes, tc.live...)
			pod := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: tc.className, Priority: tc.priority, PreemptionPolicy: tc.policy}}
			err := p.Admit(context.Background(), podCreate(pod), nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pod.Spec.PriorityClassName != tc.wantClass || *pod.Spec.Priority != tc.wantValue || *pod.Spec.PreemptionPolicy != tc.wantPolicy {
				t.Errorf("got class %q priority %d policy %s, want %q %d %s", pod.Spec.PriorityClassName, *pod.Spec.Priority, *pod.Spec.PreemptionPolicy, tc.wantClass, tc.wantValue, tc.wantPolicy)
			}
		})
	}
}

func TestAdmitPodUpdateKeepsPriority(t *testing.T) {
	p := newPlugin(t, nil)
	old := &corev1.Pod{Spec: corev1.PodSpec{Priority: ptr.To[int32](42), PreemptionPolicy: ptr.To(corev1.PreemptNever)}}
	pod := &corev1.Pod{}
	a := admission.NewAttributesRecord(pod, old, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
		corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Update, &metav1.UpdateOptions{}, false, nil)
	if err := p.Admit(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	if *pod.Spec.Priority != 42 || *pod.Spec.PreemptionPolicy != corev1.PreemptNever {
		t.Errorf("update lost priority: %v %v", pod.Spec.Priority, pod.Spec.PreemptionPolicy)
	}
}

func TestValidateSingleGlobalDefault(t *testing.T) {
	tests := []struct {
		name    string
		op      admission.Operation
		obj     *schedulingv1.PriorityClass
		wantErr bool
	}{
		{"second default created", admission.Create, pc("new", 1, true, nil), true},
		{"non-default created", admission.Create, pc("new", 1, false, nil), false},
		{"the default updated", admission.Update, pc("dflt", 1, true, nil), false},
		{"another made default", admission.Update, pc("other", 1, true, nil), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, []*schedulingv1.PriorityClass{pc("dflt", 1, true, nil)})
			a := admission.NewAttributesRecord(tc.obj, nil, schedulingv1.SchemeGroupVersion.WithKind("PriorityClass"), "", tc.obj.Name,
				schedulingv1.SchemeGroupVersion.WithResource("priorityclasses"), "", tc.op, nil, false, nil)
			err := p.Validate(context.Background(), a, nil)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "PriorityClass dflt is already marked as default. Only one default can exist") {
				t.Errorf("message = %q", err.Error())
			}
		})
	}
}
