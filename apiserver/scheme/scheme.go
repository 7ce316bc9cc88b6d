package scheme

import (
	"fmt"
	"reflect"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/skiff-dev/skiff/apiserver/defaults"
)

var (
	// Scheme knows every type the built-in API server serves, under its
	// external version and under __internal.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes the types of Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
	// ParameterCodec decodes query parameters.
	ParameterCodec = runtime.NewParameterCodec(Scheme)
)

// GroupVersions are the external versions served, in discovery order, each
// group's preferred (and storage) version first.
var GroupVersions = []schema.GroupVersion{
	corev1.SchemeGroupVersion,
	admissionregistrationv1.SchemeGroupVersion,
	authenticationv1.SchemeGroupVersion,
	authorizationv1.SchemeGroupVersion,
	coordinationv1.SchemeGroupVersion,
	rbacv1.SchemeGroupVersion,
}

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		admissionregistrationv1.AddToScheme,
		authenticationv1.AddToScheme,
		authorizationv1.AddToScheme,
		coordinationv1.AddToScheme,
		rbacv1.AddToScheme,
	} {
		utilruntime.Must(add(Scheme))
	}
	for _, gv := range GroupVersions {
		utilruntime.Must(addInternal(Scheme, gv))
	}
	utilruntime.Must(defaults.AddToScheme(Scheme))
	// As k8s.io/sample-apiserver does: the unversioned meta types.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	Scheme.AddUnversionedTypes(schema.GroupVersion{Version: "v1"},
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// addInternal registers the API types of the external version gv (those
// defined in its k8s.io/api package, not the meta types every version
// carries) as gv.Group's __internal version too.
func addInternal(s *runtime.Scheme, gv schema.GroupVersion) error {
	internal := schema.GroupVersion{Group: gv.Group, Version: runtime.APIVersionInternal}
	known := s.KnownTypes(gv)
	if len(known) == 0 {
		return fmt.Errorf("no types registered for %s", gv)
	}
	for kind, t := range known {
		if !strings.HasPrefix(t.PkgPath(), "k8s.io/api/") {
			continue
		}
		obj, ok := reflect.New(t).Interface().(runtime.Object)
		if !ok {
			return fmt.Errorf("%s %s is not a runtime.Object", gv, kind)
		}
		s.AddKnownTypeWithName(internal.WithKind(kind), obj)
	}
	return nil
}
