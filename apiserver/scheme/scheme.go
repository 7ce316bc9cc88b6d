package scheme

import (
	"fmt"
	"reflect"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/skiff-dev/skiff/apiserver/conversion"
	"github.com/skiff-dev/skiff/apiserver/defaults"
	"github.com/skiff-dev/skiff/apiserver/registry/core/kubeletproxy"
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
	appsv1.SchemeGroupVersion,
	eventsv1.SchemeGroupVersion,
	authenticationv1.SchemeGroupVersion,
	authorizationv1.SchemeGroupVersion,
	autoscalingv2.SchemeGroupVersion,
	autoscalingv1.SchemeGroupVersion,
	batchv1.SchemeGroupVersion,
	certificatesv1.SchemeGroupVersion,
	networkingv1.SchemeGroupVersion,
	policyv1.SchemeGroupVersion,
	rbacv1.SchemeGroupVersion,
	storagev1.SchemeGroupVersion,
	admissionregistrationv1.SchemeGroupVersion,
	schedulingv1.SchemeGroupVersion,
	coordinationv1.SchemeGroupVersion,
	nodev1.SchemeGroupVersion,
	discoveryv1.SchemeGroupVersion,
	flowcontrolv1.SchemeGroupVersion,
	resourcev1.SchemeGroupVersion,
	storagemigrationv1.SchemeGroupVersion,
	metricsv1beta1.SchemeGroupVersion,
}

// internalOverrides are internal kinds whose Go type is another group's:
// events.k8s.io Events are core Events inside the server, as upstream's are,
// so that both resources share one storage.
var internalOverrides = map[schema.GroupVersionKind]runtime.Object{
	{Group: eventsv1.GroupName, Version: runtime.APIVersionInternal, Kind: "Event"}:     &corev1.Event{},
	{Group: eventsv1.GroupName, Version: runtime.APIVersionInternal, Kind: "EventList"}: &corev1.EventList{},
}

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		eventsv1.AddToScheme,
		authenticationv1.AddToScheme,
		authorizationv1.AddToScheme,
		autoscalingv2.AddToScheme,
		autoscalingv1.AddToScheme,
		batchv1.AddToScheme,
		certificatesv1.AddToScheme,
		networkingv1.AddToScheme,
		policyv1.AddToScheme,
		rbacv1.AddToScheme,
		storagev1.AddToScheme,
		admissionregistrationv1.AddToScheme,
		schedulingv1.AddToScheme,
		coordinationv1.AddToScheme,
		nodev1.AddToScheme,
		discoveryv1.AddToScheme,
		flowcontrolv1.AddToScheme,
		resourcev1.AddToScheme,
		storagemigrationv1.AddToScheme,
		metricsv1beta1.AddToScheme,
	} {
		utilruntime.Must(add(Scheme))
	}
	// autoscaling/v2 is the preferred and storage version of its group.
	utilruntime.Must(Scheme.SetVersionPriority(autoscalingv2.SchemeGroupVersion, autoscalingv1.SchemeGroupVersion))
	for gvk, obj := range internalOverrides {
		Scheme.AddKnownTypeWithName(gvk, obj)
	}
	for _, gv := range GroupVersions {
		utilruntime.Must(addInternal(Scheme, gv))
	}
	utilruntime.Must(conversion.AddToScheme(Scheme))
	// Query parameters of the kubelet-facing subresources (pods/log, exec…).
	utilruntime.Must(kubeletproxy.AddConversions(Scheme))
	utilruntime.Must(defaults.AddToScheme(Scheme))
	// As k8s.io/sample-apiserver does: the unversioned meta types.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	Scheme.AddUnversionedTypes(schema.GroupVersion{Version: "v1"},
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// addInternal registers the API types of the external version gv (those
// defined in its k8s.io/api or k8s.io/metrics package, not the meta types every version
// carries) as gv.Group's __internal version too, unless the group already
// has an internal kind of that name: a group's preferred version, listed
// first, gives the internal type of the kinds several versions share
// (autoscaling/v2's HorizontalPodAutoscaler), and a later version adds only
// the kinds it alone has (autoscaling/v1's Scale).
func addInternal(s *runtime.Scheme, gv schema.GroupVersion) error {
	internal := schema.GroupVersion{Group: gv.Group, Version: runtime.APIVersionInternal}
	known := s.KnownTypes(gv)
	if len(known) == 0 {
		return fmt.Errorf("no types registered for %s", gv)
	}
	for kind, t := range known {
		if !apiPackage(t.PkgPath()) || s.Recognizes(internal.WithKind(kind)) {
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

// apiPackage tells the packages of API types (k8s.io/api, and k8s.io/metrics
// for metrics.k8s.io) from those of the meta types.
func apiPackage(path string) bool {
	return strings.HasPrefix(path, "k8s.io/api/") || strings.HasPrefix(path, "k8s.io/metrics/")
}
