package namespace

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	fakemetadata "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
)

// fakeDiscovery serves fixed preferred namespaced resources.
type fakeDiscovery struct {
	*fakediscovery.FakeDiscovery
	lists []*metav1.APIResourceList
	err   error
}

func (f *fakeDiscovery) ServerPreferredNamespacedResources() ([]*metav1.APIResourceList, error) {
	return f.lists, f.err
}

func TestDeleterDelete(t *testing.T) {
	now := metav1.NewTime(time.Unix(1000, 0))
	terminating := func() *corev1.Namespace {
		return &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "ns", UID: "ns-uid", DeletionTimestamp: &now},
			Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		}
	}
	cmList := &metav1.APIResourceList{GroupVersion: "v1", APIResources: []metav1.APIResource{
		{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: []string{"list", "delete", "deletecollection"}},
	}}
	widgetList := &metav1.APIResourceList{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
		{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: []string{"list", "delete"}},
	}}
	object := func(apiVersion, kind, name string, finalizers ...string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Finalizers: finalizers},
		}
	}
	tests := []struct {
		name string
		ns   *corev1.Namespace
		objs []runtime.Object
		// holdCollections makes deletecollection leave objects (as
		// finalizers would).
		holdCollections bool
		discoveryErr    error
		wantErr         string
		wantEstimate    int64
		wantFinalized   bool
		wantConditions  map[corev1.NamespaceConditionType]corev1.ConditionStatus
	}{
		{
			name:          "empty namespace is finalized",
			ns:            terminating(),
			wantFinalized: true,
			wantConditions: map[corev1.NamespaceConditionType]corev1.ConditionStatus{
				corev1.NamespaceContentRemaining: corev1.ConditionFalse,
			},
		},
		{
			name:          "content deleted one by one",
			ns:            terminating(),
			objs:          []runtime.Object{object("v1", "ConfigMap", "a"), object("example.com/v1", "Widget", "w")},
			wantFinalized: true,
		},
		{
			name:            "content held by finalizers remains",
			ns:              terminating(),
			objs:            []runtime.Object{object("v1", "ConfigMap", "held", "example.com/hold")},
			holdCollections: true,
			wantErr:         "some content remains in the namespace, estimate 15 seconds before it is removed",
			wantEstimate:    15,
			wantConditions: map[corev1.NamespaceConditionType]corev1.ConditionStatus{
				corev1.NamespaceContentRemaining:    corev1.ConditionTrue,
				corev1.NamespaceFinalizersRemaining: corev1.ConditionTrue,
			},
		},
		{
			name:            "content without finalizers that does not go is a failure",
			ns:              terminating(),
			objs:            []runtime.Object{object("v1", "ConfigMap", "stuck")},
			holdCollections: true,
			wantErr:         "unexpected items still remain in namespace: ns for gvr: /v1, Resource=configmaps",
			wantConditions: map[corev1.NamespaceConditionType]corev1.ConditionStatus{
				corev1.NamespaceDeletionContentFailure: corev1.ConditionTrue,
			},
		},
		{
			name: "partial discovery failure is reported and not finalized",
			ns:   terminating(),
			discoveryErr: &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{
				{Group: "broken.example.com", Version: "v1"}: errors.New("unavailable"),
			}},
			wantErr: "unable to retrieve the complete list of server APIs",
			wantConditions: map[corev1.NamespaceConditionType]corev1.ConditionStatus{
				corev1.NamespaceDeletionDiscoveryFailure: corev1.ConditionTrue,
			},
		},
		{
			name: "namespace not being deleted is left alone",
			ns:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(tt.ns)
			scheme := fakemetadata.NewTestScheme()
			metav1.AddMetaToScheme(scheme)
			for _, gvk := range []schema.GroupVersionKind{{Version: "v1", Kind: "ConfigMap"}, {Group: "example.com", Version: "v1", Kind: "Widget"}} {
				scheme.AddKnownTypeWithName(gvk, &metav1.PartialObjectMetadata{})
				scheme.AddKnownTypeWithName(gvk.GroupVersion().WithKind(gvk.Kind+"List"), &metav1.PartialObjectMetadataList{})
			}
			md := fakemetadata.NewSimpleMetadataClient(scheme, tt.objs...)
			md.PrependReactor("delete-collection", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
				if tt.holdCollections {
					return true, nil, nil
				}
				// The fake cannot delete collections: make the deleter
				// fall back to deleting one by one.
				return true, nil, apierrors.NewMethodNotSupported(a.GetResource().GroupResource(), "deletecollection")
			})
			disc := &fakeDiscovery{FakeDiscovery: cs.Discovery().(*fakediscovery.FakeDiscovery), lists: []*metav1.APIResourceList{cmList, widgetList}, err: tt.discoveryErr}
			d := &Deleter{Namespaces: cs.CoreV1().Namespaces(), Pods: cs.CoreV1(), Metadata: md, Discovery: disc, Now: func() time.Time { return now.Time }}
			err := d.Delete(context.Background(), "ns")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Delete: %v", err)
			case tt.wantErr != "" && (err == nil || !contains(err.Error(), tt.wantErr)):
				t.Fatalf("Delete error = %v, want %q", err, tt.wantErr)
			}
			var rre *ResourcesRemainingError
			if errors.As(err, &rre) != (tt.wantEstimate > 0) || (rre != nil && rre.Estimate != tt.wantEstimate) {
				t.Errorf("remaining error = %v, want estimate %d", err, tt.wantEstimate)
			}
			got, gerr := cs.CoreV1().Namespaces().Get(context.Background(), "ns", metav1.GetOptions{})
			if gerr != nil {
				t.Fatal(gerr)
			}
			if finalized := !hasFinalizerToken(got); finalized != tt.wantFinalized {
				t.Errorf("finalized = %v, want %v (spec.finalizers %v)", finalized, tt.wantFinalized, got.Spec.Finalizers)
			}
			if tt.ns.DeletionTimestamp != nil && got.Status.Phase != corev1.NamespaceTerminating {
				t.Errorf("phase = %q, want Terminating", got.Status.Phase)
			}
			for typ, status := range tt.wantConditions {
				i := conditionIndex(got.Status.Conditions, typ)
				if i < 0 || got.Status.Conditions[i].Status != status {
					t.Errorf("condition %s: got %+v, want %s", typ, got.Status.Conditions, status)
				}
			}
			if tt.wantFinalized {
				for _, gvr := range []schema.GroupVersionResource{{Version: "v1", Resource: "configmaps"}, {Group: "example.com", Version: "v1", Resource: "widgets"}} {
					l, err := md.Resource(gvr).Namespace("ns").List(context.Background(), metav1.ListOptions{})
					if err != nil || len(l.Items) != 0 {
						t.Errorf("%s left: %v %v", gvr, l, err)
					}
				}
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
