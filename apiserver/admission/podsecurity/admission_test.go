package podsecurity

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/component-base/compatibility"
	"k8s.io/utils/ptr"
)

type warningRecorder struct{ msgs []string }

func (r *warningRecorder) AddWarning(_, text string) { r.msgs = append(r.msgs, text) }

func TestValidatePod(t *testing.T) {
	privileged := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: "busybox", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
	}}}}
	tests := []struct {
		name        string
		labels      map[string]string
		wantErr     string
		wantWarning string
	}{
		{name: "unlabelled namespace is privileged"},
		{name: "enforce restricted", labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
			wantErr: `pods "p" is forbidden: violates PodSecurity "restricted:latest": privileged (container "app" must not set securityContext.privileged=true)`},
		{name: "enforce baseline pinned version", labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.30"},
			wantErr: `violates PodSecurity "baseline:v1.30": privileged`},
		{name: "warn restricted", labels: map[string]string{"pod-security.kubernetes.io/warn": "restricted"},
			wantWarning: `would violate PodSecurity "restricted:latest": privileged (container "app" must not set securityContext.privileged=true)`},
		{name: "audit only", labels: map[string]string{"pod-security.kubernetes.io/audit": "restricted"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: tc.labels}}
			client := fake.NewSimpleClientset(ns)
			f := informers.NewSharedInformerFactory(client, 0)
			p, err := New(nil)
			if err != nil {
				t.Fatal(err)
			}
			p.InspectEffectiveVersion(compatibility.NewEffectiveVersionFromString("1.37", "", ""))
			p.SetExternalKubeClientSet(client)
			p.SetExternalKubeInformerFactory(f)
			if err := f.Core().V1().Namespaces().Informer().GetIndexer().Add(ns); err != nil {
				t.Fatal(err)
			}
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			rec := &warningRecorder{}
			ctx := warning.WithWarningRecorder(context.Background(), rec)
			var obj runtime.Object = privileged.DeepCopy()
			a := admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
				corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, &metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "alice"})
			err = p.Validate(ctx, a, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(rec.msgs, "\n")
			if tc.wantWarning != "" && !strings.Contains(got, tc.wantWarning) {
				t.Errorf("warnings = %q, want %q", got, tc.wantWarning)
			}
			if tc.wantWarning == "" && got != "" {
				t.Errorf("unexpected warnings %q", got)
			}
		})
	}
}

func TestIgnoresOtherResources(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := admission.NewAttributesRecord(&corev1.ConfigMap{}, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "ns", "c",
		schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "", admission.Create, nil, false, nil)
	if err := p.Validate(context.Background(), a, nil); err != nil {
		t.Fatalf("configmap evaluated: %v", err)
	}
}
