package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func serviceAccount(name, namespace string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, ResourceVersion: "1"}}
}

func TestValidateServiceAccount(t *testing.T) {
	tests := []struct {
		name string
		sa   *corev1.ServiceAccount
		want []vt.Want
	}{
		{name: "valid", sa: serviceAccount("build-bot.v2", "ci")},
		{name: "bad name", sa: serviceAccount("Build", "ci"), want: []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain")}},
		{name: "no namespace", sa: serviceAccount("bot", ""), want: []vt.Want{vt.Required("metadata.namespace", "")}},
		{name: "bad namespace", sa: serviceAccount("bot", "CI"), want: []vt.Want{vt.Invalid("metadata.namespace", "a lowercase RFC 1123 label")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateServiceAccount(tt.sa), tt.want...)
		})
	}
}

func TestValidateServiceAccountUpdate(t *testing.T) {
	old := serviceAccount("bot", "ci")
	tests := []struct {
		name string
		sa   *corev1.ServiceAccount
		want []vt.Want
	}{
		{name: "secrets change", sa: func() *corev1.ServiceAccount {
			sa := serviceAccount("bot", "ci")
			sa.Secrets = []corev1.ObjectReference{{Name: "token"}}
			return sa
		}()},
		{name: "move", sa: serviceAccount("bot", "prod"), want: []vt.Want{vt.Invalid("metadata.namespace", "field is immutable")}},
		{
			name: "no resource version",
			sa:   func() *corev1.ServiceAccount { sa := serviceAccount("bot", "ci"); sa.ResourceVersion = ""; return sa }(),
			want: []vt.Want{vt.Invalid("metadata.resourceVersion", "must be specified for an update")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateServiceAccountUpdate(tt.sa, old), tt.want...)
		})
	}
}
