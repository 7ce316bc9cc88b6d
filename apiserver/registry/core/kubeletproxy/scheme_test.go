package kubeletproxy_test

import (
	"net/url"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/apiserver/registry/core/kubeletproxy"
	"github.com/skiff-dev/skiff/apiserver/scheme"
)

// TestServerScheme checks the options against the server's own scheme:
// each is a known v1 (and internal) kind, and once AddConversions is
// registered the server's parameter codec decodes it from a query.
func TestServerScheme(t *testing.T) {
	if err := kubeletproxy.AddConversions(scheme.Scheme); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []runtime.Object{
		&corev1.PodLogOptions{}, &corev1.PodExecOptions{}, &corev1.PodAttachOptions{}, &corev1.PodPortForwardOptions{},
		&corev1.PodProxyOptions{}, &corev1.NodeProxyOptions{}, &corev1.ServiceProxyOptions{},
	} {
		kinds, _, err := scheme.Scheme.ObjectKinds(obj)
		if err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		var v1, internal bool
		for _, k := range kinds {
			v1 = v1 || k.GroupVersion() == corev1.SchemeGroupVersion
			internal = internal || k.Version == runtime.APIVersionInternal
		}
		if !v1 || !internal {
			t.Errorf("%T registered as %v, want v1 and __internal", obj, kinds)
		}
		if err := scheme.ParameterCodec.DecodeParameters(url.Values{"container": {"c"}, "path": {"/p"}}, corev1.SchemeGroupVersion, obj); err != nil {
			t.Errorf("decode %T: %v", obj, err)
		}
	}
}
