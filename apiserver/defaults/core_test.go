package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// schemeWithDefaults returns a scheme with every defaulting function of
// this package, as the API server's is.
func schemeWithDefaults(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatalf("add defaults to the scheme: %v", err)
	}
	return s
}

func TestCoreDefaults(t *testing.T) {
	tests := []struct {
		name      string
		obj, want runtime.Object
	}{
		{
			name: "namespace gets its name label and phase Active",
			obj:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}},
			want: &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "team-a"}},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
			},
		},
		{
			name: "namespace name label overrides a wrong value and keeps other labels and the phase",
			obj: &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "other", "env": "prod"}},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
			},
			want: &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "team-a", "env": "prod"}},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
			},
		},
		{
			name: "namespace with only generateName gets no label",
			obj:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "team-"}},
			want: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "team-"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		},
		{
			name: "namespace list items",
			obj:  &corev1.NamespaceList{Items: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}}},
			want: &corev1.NamespaceList{Items: []corev1.Namespace{{
				ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"kubernetes.io/metadata.name": "a"}},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
			}}},
		},
		{
			name: "configmap data becomes an empty map",
			obj:  &corev1.ConfigMap{},
			want: &corev1.ConfigMap{Data: map[string]string{}},
		},
		{
			name: "configmap list items",
			obj:  &corev1.ConfigMapList{Items: []corev1.ConfigMap{{}}},
			want: &corev1.ConfigMapList{Items: []corev1.ConfigMap{{Data: map[string]string{}}}},
		},
		{
			name: "secret type becomes Opaque",
			obj:  &corev1.Secret{},
			want: &corev1.Secret{Type: corev1.SecretTypeOpaque},
		},
		{
			name: "secret type is kept",
			obj:  &corev1.Secret{Type: corev1.SecretTypeTLS},
			want: &corev1.Secret{Type: corev1.SecretTypeTLS},
		},
		{
			name: "secret stringData is merged into data, overwriting it, and dropped",
			obj: &corev1.Secret{
				Data:       map[string][]byte{"a": []byte("old"), "b": []byte("kept")},
				StringData: map[string]string{"a": "new", "c": "added"},
			},
			want: &corev1.Secret{
				Type: corev1.SecretTypeOpaque,
				Data: map[string][]byte{"a": []byte("new"), "b": []byte("kept"), "c": []byte("added")},
			},
		},
		{
			name: "secret stringData alone",
			obj:  &corev1.Secret{StringData: map[string]string{"password": "s3cret"}},
			want: &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("s3cret")}},
		},
		{
			name: "secret list items",
			obj:  &corev1.SecretList{Items: []corev1.Secret{{}, {Type: corev1.SecretTypeBasicAuth}}},
			want: &corev1.SecretList{Items: []corev1.Secret{{Type: corev1.SecretTypeOpaque}, {Type: corev1.SecretTypeBasicAuth}}},
		},
		{
			name: "service account has no defaults",
			obj:  &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
			want: &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		},
		{
			name: "event has no defaults",
			obj:  &corev1.Event{Reason: "Started"},
			want: &corev1.Event{Reason: "Started"},
		},
		{
			name: "token request lasts an hour",
			obj:  &authenticationv1.TokenRequest{},
			want: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}},
		},
		{
			name: "token request lifetime is kept",
			obj:  &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}},
			want: &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}},
		},
	}
	s := schemeWithDefaults(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Default(tt.obj)
			if diff := cmp.Diff(tt.want, tt.obj); diff != "" {
				t.Errorf("defaulted object differs (-want +got):\n%s", diff)
			}
		})
	}
}
