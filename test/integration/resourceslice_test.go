package integration

import (
	"context"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestResourceSliceFieldSelectors lists ResourceSlices by spec.nodeName
// and spec.driver, as the kubelet's DRA manager and drivers do, and checks
// that an invalid slice is refused with 422 and upstream's field path.
func TestResourceSliceFieldSelectors(t *testing.T) {
	ctx := context.Background()
	api := server.Client().ResourceV1().ResourceSlices()
	slice := func(name, driver string, node *string) *resourcev1.ResourceSlice {
		s := &resourcev1.ResourceSlice{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: resourcev1.ResourceSliceSpec{Driver: driver, NodeName: node,
				Pool:    resourcev1.ResourcePool{Name: name, ResourceSliceCount: 1},
				Devices: []resourcev1.Device{{Name: "dev-0"}}},
		}
		if node == nil {
			s.Spec.AllNodes = ptr.To(true)
		}
		return s
	}
	for _, s := range []*resourcev1.ResourceSlice{
		slice("fs-a", "a.example.com", ptr.To("fs-node-1")),
		slice("fs-b", "b.example.com", ptr.To("fs-node-1")),
		slice("fs-c", "a.example.com", ptr.To("fs-node-2")),
		slice("fs-d", "a.example.com", nil),
	} {
		if _, err := api.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", s.Name, err)
		}
		t.Cleanup(func() { _ = api.Delete(context.Background(), s.Name, metav1.DeleteOptions{}) })
	}
	tests := []struct {
		selector string
		want     []string
	}{
		{"spec.nodeName=fs-node-1", []string{"fs-a", "fs-b"}},
		{"spec.nodeName=fs-node-1,spec.driver=a.example.com", []string{"fs-a"}},
		{"spec.driver=a.example.com", []string{"fs-a", "fs-c", "fs-d"}},
	}
	for _, tc := range tests {
		list, err := api.List(ctx, metav1.ListOptions{FieldSelector: tc.selector})
		if err != nil {
			t.Fatalf("list %q: %v", tc.selector, err)
		}
		var got []string
		for _, s := range list.Items {
			if len(s.Name) > 3 && s.Name[:3] == "fs-" {
				got = append(got, s.Name)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.selector, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: got %v, want %v", tc.selector, got, tc.want)
				break
			}
		}
	}
	if _, err := api.List(ctx, metav1.ListOptions{FieldSelector: "spec.pool.name=x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("unsupported field selector: err = %v, want BadRequest", err)
	}

	bad := slice("fs-bad", "a.example.com", ptr.To("fs-node-1"))
	bad.Spec.Devices[0].NodeName = ptr.To("fs-node-1")
	_, err := api.Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !contains(err.Error(), "spec.devices[0]: Invalid value: null: `nodeName`, `nodeSelector` and `allNodes` can only be set if `perDeviceNodeSelection` is set to true") {
		t.Errorf("invalid slice: err = %v", err)
	}
}
