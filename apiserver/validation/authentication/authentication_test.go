package authentication

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func TestValidateTokenRequest(t *testing.T) {
	request := func(seconds *int64) *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences:         []string{"api"},
			ExpirationSeconds: seconds,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web"},
		}}
	}
	tests := []struct {
		name    string
		request *authenticationv1.TokenRequest
		want    []vt.Want
	}{
		{name: "unset, to be defaulted", request: request(nil)},
		{name: "ten minutes", request: request(ptr.To[int64](600))},
		{name: "2^32 seconds", request: request(ptr.To[int64](1 << 32))},
		{
			name:    "under ten minutes",
			request: request(ptr.To[int64](599)),
			want:    []vt.Want{vt.Invalid("spec.expirationSeconds", "may not specify a duration less than 10 minutes")},
		},
		{
			name:    "negative",
			request: request(ptr.To[int64](-1)),
			want:    []vt.Want{vt.Invalid("spec.expirationSeconds", "may not specify a duration less than 10 minutes")},
		},
		{
			name:    "over 2^32 seconds",
			request: request(ptr.To[int64](1<<32 + 1)),
			want:    []vt.Want{vt.Invalid("spec.expirationSeconds", "may not specify a duration larger than 2^32 seconds")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateTokenRequest(tt.request), tt.want...)
		})
	}
}
