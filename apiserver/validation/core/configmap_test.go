package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func configMap(data map[string]string, binary map[string][]byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default", ResourceVersion: "1"},
		Data:       data,
		BinaryData: binary,
	}
}

func TestValidateConfigMap(t *testing.T) {
	tests := []struct {
		name string
		cm   *corev1.ConfigMap
		want []vt.Want
	}{
		{name: "valid", cm: configMap(map[string]string{"app.properties": "a=b", "KEY_1": "v"}, map[string][]byte{"logo.png": {1, 2}})},
		{name: "exactly the size limit", cm: configMap(map[string]string{"a": strings.Repeat("x", corev1.MaxSecretSize-1)}, map[string][]byte{"b": {1}})},
		{
			name: "name must be a DNS subdomain",
			cm:   func() *corev1.ConfigMap { cm := configMap(nil, nil); cm.Name = "Settings"; return cm }(),
			want: []vt.Want{vt.Invalid("metadata.name", "a lowercase RFC 1123 subdomain")},
		},
		{
			name: "namespace required",
			cm:   func() *corev1.ConfigMap { cm := configMap(nil, nil); cm.Namespace = ""; return cm }(),
			want: []vt.Want{vt.Required("metadata.namespace", "")},
		},
		{
			name: "bad data key",
			cm:   configMap(map[string]string{"bad key": "v"}, nil),
			want: []vt.Want{vt.Invalid("data[bad key]", "a valid config key must consist of alphanumeric characters, '-', '_' or '.'")},
		},
		{
			name: "data key may not be ..",
			cm:   configMap(map[string]string{"..": "v"}, nil),
			want: []vt.Want{vt.Invalid("data[..]", "must not be '..'")},
		},
		{
			name: "bad binaryData key",
			cm:   configMap(nil, map[string][]byte{"a/b": {1}}),
			want: []vt.Want{vt.Invalid("binaryData[a/b]", "a valid config key")},
		},
		{
			name: "key in both maps",
			cm:   configMap(map[string]string{"k": "v"}, map[string][]byte{"k": {1}}),
			want: []vt.Want{vt.Invalid("data[k]", "duplicate of key present in binaryData")},
		},
		{
			name: "over the size limit in all, reported at upstream's empty path, which prints as []",
			cm:   configMap(map[string]string{"a": strings.Repeat("x", corev1.MaxSecretSize)}, map[string][]byte{"b": {1}}),
			want: []vt.Want{vt.TooLong("[]", "may not be more than 1048576 bytes")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateConfigMap(tt.cm), tt.want...)
		})
	}
}

func TestValidateConfigMapUpdate(t *testing.T) {
	mutable := configMap(map[string]string{"a": "1"}, nil)
	immutable := func(data map[string]string, binary map[string][]byte, flag *bool) *corev1.ConfigMap {
		cm := configMap(data, binary)
		cm.Immutable = flag
		return cm
	}
	frozen := immutable(map[string]string{"a": "1"}, map[string][]byte{"b": {1}}, ptr.To(true))
	tests := []struct {
		name string
		cm   *corev1.ConfigMap
		old  *corev1.ConfigMap
		want []vt.Want
	}{
		{name: "data change", cm: configMap(map[string]string{"a": "2"}, nil), old: mutable},
		{name: "made immutable with a data change", cm: immutable(map[string]string{"a": "2"}, nil, ptr.To(true)), old: mutable},
		{name: "immutable, metadata change", cm: func() *corev1.ConfigMap {
			cm := immutable(map[string]string{"a": "1"}, map[string][]byte{"b": {1}}, ptr.To(true))
			cm.Labels = map[string]string{"x": "y"}
			return cm
		}(), old: frozen},
		{
			name: "immutable, data and binaryData change",
			cm:   immutable(map[string]string{"a": "2"}, map[string][]byte{"b": {2}}, ptr.To(true)),
			old:  frozen,
			want: []vt.Want{
				vt.Forbidden("data", "field is immutable when `immutable` is set"),
				vt.Forbidden("binaryData", "field is immutable when `immutable` is set"),
			},
		},
		{
			name: "immutable, flag cleared",
			cm:   immutable(map[string]string{"a": "1"}, map[string][]byte{"b": {1}}, nil),
			old:  frozen,
			want: []vt.Want{vt.Forbidden("immutable", "field is immutable when `immutable` is set")},
		},
		{
			name: "immutable, flag set to false",
			cm:   immutable(map[string]string{"a": "1"}, map[string][]byte{"b": {1}}, ptr.To(false)),
			old:  frozen,
			want: []vt.Want{vt.Forbidden("immutable", "field is immutable when `immutable` is set")},
		},
		{
			name: "create rules and metadata rules apply",
			cm: func() *corev1.ConfigMap {
				cm := configMap(map[string]string{"bad key": ""}, nil)
				cm.Namespace = "other"
				return cm
			}(),
			old:  mutable,
			want: []vt.Want{vt.Invalid("metadata.namespace", "field is immutable"), vt.Invalid("data[bad key]", "a valid config key")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateConfigMapUpdate(tt.cm, tt.old), tt.want...)
		})
	}
}
