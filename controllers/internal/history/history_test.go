package history

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

var kind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

func template(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
	}
}

func owner() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "set-uid"}}
}

func TestTemplatePatchRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		tmpl *corev1.PodTemplateSpec
	}{
		{"simple", template("img:1")},
		{"annotated", func() *corev1.PodTemplateSpec {
			t := template("img:2")
			t.Annotations = map[string]string{"a": "b"}
			t.Spec.NodeSelector = map[string]string{"z": "1", "a": "2"}
			return t
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := TemplatePatch(tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), `"$patch":"replace"`) || !strings.HasPrefix(string(data), `{"spec":{"template":`) {
				t.Errorf("patch %s", data)
			}
			again, _ := TemplatePatch(tc.tmpl)
			if string(again) != string(data) {
				t.Errorf("patch not deterministic")
			}
			back, err := TemplateFromPatch(data)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(back, tc.tmpl) {
				t.Errorf("round trip %+v, want %+v", back, tc.tmpl)
			}
		})
	}
	if _, err := TemplateFromPatch([]byte(`{"spec":{}}`)); err == nil {
		t.Errorf("patch without template accepted")
	}
}

func TestHashAndName(t *testing.T) {
	data := []byte(`{"spec":{}}`)
	h0, h1 := Hash(data, ptr.To[int32](0)), Hash(data, ptr.To[int32](1))
	if h0 == h1 || h0 == Hash([]byte(`{}`), ptr.To[int32](0)) || h0 != Hash(data, ptr.To[int32](0)) {
		t.Errorf("hashes %s %s", h0, h1)
	}
	if Hash(data, nil) == "" {
		t.Errorf("empty hash")
	}
	for _, tc := range []struct {
		prefix string
		want   int
	}{{"web", 3 + 1 + len(h0)}, {strings.Repeat("x", 300), maxPrefixLength + 1 + len(h0)}} {
		if got := Name(tc.prefix, h0); len(got) != tc.want || !strings.HasSuffix(got, "-"+h0) {
			t.Errorf("Name(%d chars) = %q", len(tc.prefix), got)
		}
	}
}

func TestNewSortNextFindEqual(t *testing.T) {
	d1, _ := TemplatePatch(template("img:1"))
	d2, _ := TemplatePatch(template("img:2"))
	r1 := New(owner(), kind, map[string]string{"app": "web"}, d1, 2, ptr.To[int32](0))
	r2 := New(owner(), kind, nil, d2, 1, ptr.To[int32](0))
	if r1.Labels["app"] != "web" || r1.Labels[appsv1.ControllerRevisionHashLabelKey] == "" || r1.Name != "web-"+r1.Labels[appsv1.ControllerRevisionHashLabelKey] {
		t.Errorf("revision meta %+v", r1.ObjectMeta)
	}
	if ref := metav1.GetControllerOf(r1); ref == nil || ref.UID != "set-uid" || ref.Kind != "StatefulSet" {
		t.Errorf("controller %v", ref)
	}
	revs := []*appsv1.ControllerRevision{r1, r2}
	Sort(revs)
	if revs[0] != r2 || Next(revs) != 3 || Next(nil) != 1 {
		t.Errorf("sort/next: %v %d", revs[0].Revision, Next(revs))
	}
	probe := New(owner(), kind, nil, d1, 9, nil)
	if eq := FindEqual(revs, probe); len(eq) != 1 || eq[0] != r1 {
		t.Errorf("FindEqual = %v", eq)
	}
}

func newClient(objs ...client.Object) client.Client {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
}

func TestCreateResolvesCollisions(t *testing.T) {
	d1, _ := TemplatePatch(template("img:1"))
	d2, _ := TemplatePatch(template("img:2"))
	rev := New(owner(), kind, nil, d1, 1, ptr.To[int32](0))
	// Another template already holds the name this one hashes to.
	squatter := rev.DeepCopy()
	squatter.Data.Raw = d2
	for _, tc := range []struct {
		name           string
		existing       []client.Object
		wantCollisions int32
		wantName       string
	}{
		{"free", nil, 0, rev.Name},
		{"same data exists", []client.Object{rev.DeepCopy()}, 0, rev.Name},
		{"collision", []client.Object{squatter}, 1, Name("web", Hash(d1, ptr.To[int32](1)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(tc.existing...)
			var count int32
			got, err := Create(context.Background(), c, rev.DeepCopy(), &count)
			if err != nil {
				t.Fatal(err)
			}
			if count != tc.wantCollisions || got.Name != tc.wantName || !Equal(got, rev) {
				t.Errorf("created %s with %d collisions, want %s with %d", got.Name, count, tc.wantName, tc.wantCollisions)
			}
			if got.Labels[appsv1.ControllerRevisionHashLabelKey] != strings.TrimPrefix(got.Name, "web-") {
				t.Errorf("hash label %v for %s", got.Labels, got.Name)
			}
		})
	}
}

func TestListAdoptsAndReleases(t *testing.T) {
	d1, _ := TemplatePatch(template("img:1"))
	mk := func(name string, lbls map[string]string, ownerUID types.UID, rev int64) *appsv1.ControllerRevision {
		r := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: lbls, UID: types.UID(name)}, Data: runtime.RawExtension{Raw: d1}, Revision: rev}
		if ownerUID != "" {
			r.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "x", UID: ownerUID, Controller: ptr.To(true)}}
		}
		return r
	}
	app := map[string]string{"app": "web"}
	c := newClient(
		mk("owned", app, "set-uid", 2),
		mk("orphan", app, "", 1),
		mk("foreign", app, "other", 3),
		mk("unmatched", map[string]string{"app": "db"}, "set-uid", 4),
	)
	got, err := List(context.Background(), c, owner(), kind, labels.SelectorFromSet(app))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "orphan" || got[1].Name != "owned" {
		t.Fatalf("List = %v", got)
	}
	var orphan, unmatched appsv1.ControllerRevision
	_ = c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "orphan"}, &orphan)
	_ = c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "unmatched"}, &unmatched)
	if ref := metav1.GetControllerOf(&orphan); ref == nil || ref.UID != "set-uid" {
		t.Errorf("orphan not adopted: %v", orphan.OwnerReferences)
	}
	if len(unmatched.OwnerReferences) != 0 {
		t.Errorf("unmatched not released: %v", unmatched.OwnerReferences)
	}
}

func TestTruncate(t *testing.T) {
	var objs []client.Object
	var revs []*appsv1.ControllerRevision
	for i, n := range []string{"r1", "r2", "r3", "r4"} {
		r := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n, UID: types.UID(n)}, Revision: int64(i + 1)}
		objs = append(objs, r.DeepCopy())
		revs = append(revs, r)
	}
	c := newClient(objs...)
	// r1 is live: of r2..r4 one may stay, the oldest two go.
	if err := Truncate(context.Background(), c, revs, map[string]bool{"r1": true}, 1); err != nil {
		t.Fatal(err)
	}
	var list appsv1.ControllerRevisionList
	_ = c.List(context.Background(), &list)
	var names []string
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "r1,r4" {
		t.Errorf("left %v, want r1,r4", names)
	}
}
