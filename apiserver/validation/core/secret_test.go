package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func secret(typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default", ResourceVersion: "1"},
		Type:       typ,
		Data:       data,
	}
}

func TestValidateSecret(t *testing.T) {
	saToken := func(annotations map[string]string) *corev1.Secret {
		s := secret(corev1.SecretTypeServiceAccountToken, nil)
		s.Annotations = annotations
		return s
	}
	tests := []struct {
		name   string
		secret *corev1.Secret
		want   []vt.Want
	}{
		{name: "opaque", secret: secret(corev1.SecretTypeOpaque, map[string][]byte{"password": []byte("x")})},
		{name: "no type", secret: secret("", nil)},
		{name: "unknown type needs no keys", secret: secret("example.com/custom", nil)},
		{name: "service account token", secret: saToken(map[string]string{corev1.ServiceAccountNameKey: "default"})},
		{
			name:   "service account token without account name",
			secret: saToken(nil),
			want:   []vt.Want{vt.Required("metadata.annotations[kubernetes.io/service-account.name]", "")},
		},
		{name: "dockercfg", secret: secret(corev1.SecretTypeDockercfg, map[string][]byte{".dockercfg": []byte(`{"r.io":{}}`)})},
		{
			name:   "dockercfg missing",
			secret: secret(corev1.SecretTypeDockercfg, nil),
			want:   []vt.Want{vt.Required("data[.dockercfg]", "")},
		},
		{
			name:   "dockercfg not JSON",
			secret: secret(corev1.SecretTypeDockercfg, map[string][]byte{".dockercfg": []byte("{")}),
			want:   []vt.Want{vt.Invalid("data[.dockercfg]", "unexpected end of JSON input")},
		},
		{name: "dockerconfigjson", secret: secret(corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)})},
		{
			name:   "dockerconfigjson missing",
			secret: secret(corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockercfg": []byte(`{}`)}),
			want:   []vt.Want{vt.Required("data[.dockerconfigjson]", "")},
		},
		{
			name:   "dockerconfigjson not an object",
			secret: secret(corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte(`[]`)}),
			want:   []vt.Want{vt.Invalid("data[.dockerconfigjson]", "cannot unmarshal array")},
		},
		{name: "basic auth with only a username", secret: secret(corev1.SecretTypeBasicAuth, map[string][]byte{"username": nil})},
		{
			name:   "basic auth with neither key",
			secret: secret(corev1.SecretTypeBasicAuth, map[string][]byte{"user": []byte("a")}),
			want:   []vt.Want{vt.Required("data[username]", ""), vt.Required("data[password]", "")},
		},
		{name: "ssh auth", secret: secret(corev1.SecretTypeSSHAuth, map[string][]byte{"ssh-privatekey": []byte("k")})},
		{
			name:   "ssh auth with an empty key",
			secret: secret(corev1.SecretTypeSSHAuth, map[string][]byte{"ssh-privatekey": {}}),
			want:   []vt.Want{vt.Required("data[ssh-privatekey]", "")},
		},
		{name: "tls with empty values", secret: secret(corev1.SecretTypeTLS, map[string][]byte{"tls.crt": nil, "tls.key": nil})},
		{
			name:   "tls without key",
			secret: secret(corev1.SecretTypeTLS, map[string][]byte{"tls.crt": []byte("c")}),
			want:   []vt.Want{vt.Required("data[tls.key]", "")},
		},
		{
			name:   "tls without either",
			secret: secret(corev1.SecretTypeTLS, nil),
			want:   []vt.Want{vt.Required("data[tls.crt]", ""), vt.Required("data[tls.key]", "")},
		},
		{
			name:   "bad key",
			secret: secret(corev1.SecretTypeOpaque, map[string][]byte{"bad key": nil}),
			want:   []vt.Want{vt.Invalid("data[bad key]", "a valid config key")},
		},
		{
			name:   "too large",
			secret: secret(corev1.SecretTypeOpaque, map[string][]byte{"a": []byte(strings.Repeat("x", corev1.MaxSecretSize)), "b": {1}}),
			want:   []vt.Want{vt.TooLong("data", "may not be more than 1048576 bytes")},
		},
		{
			name:   "name must be a DNS subdomain",
			secret: func() *corev1.Secret { s := secret("", nil); s.Name = "creds_1"; return s }(),
			want:   []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateSecret(tt.secret), tt.want...)
		})
	}
}

func TestValidateSecretUpdate(t *testing.T) {
	data := map[string][]byte{"a": []byte("1")}
	frozen := func(data map[string][]byte, flag *bool) *corev1.Secret {
		s := secret(corev1.SecretTypeOpaque, data)
		s.Immutable = flag
		return s
	}
	tests := []struct {
		name   string
		secret *corev1.Secret
		old    *corev1.Secret
		want   []vt.Want
	}{
		{name: "data change", secret: secret(corev1.SecretTypeOpaque, map[string][]byte{"a": []byte("2")}), old: secret(corev1.SecretTypeOpaque, data)},
		{name: "immutable, unchanged", secret: frozen(data, ptr.To(true)), old: frozen(data, ptr.To(true))},
		{
			name:   "type change",
			secret: secret(corev1.SecretTypeBasicAuth, map[string][]byte{"username": nil}),
			old:    secret(corev1.SecretTypeOpaque, nil),
			want:   []vt.Want{vt.Invalid("type", "field is immutable")},
		},
		{
			name:   "immutable, data change",
			secret: frozen(map[string][]byte{"a": []byte("2")}, ptr.To(true)),
			old:    frozen(data, ptr.To(true)),
			want:   []vt.Want{vt.Forbidden("data", "field is immutable when `immutable` is set")},
		},
		{
			name:   "immutable, flag cleared",
			secret: frozen(data, nil),
			old:    frozen(data, ptr.To(true)),
			want:   []vt.Want{vt.Forbidden("immutable", "field is immutable when `immutable` is set")},
		},
		{
			name:   "create rules apply",
			secret: secret(corev1.SecretTypeTLS, nil),
			old:    secret(corev1.SecretTypeTLS, nil),
			want:   []vt.Want{vt.Required("data[tls.crt]", ""), vt.Required("data[tls.key]", "")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateSecretUpdate(tt.secret, tt.old), tt.want...)
		})
	}
}
