package persistentvolume

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func vol(name, size, class string, mod ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class,
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	for _, m := range mod {
		m(pv)
	}
	return pv
}

func claim(size string, class *string, mod ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns", UID: "uid-c"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	for _, m := range mod {
		m(c)
	}
	return c
}

func onNode(n string) func(*corev1.PersistentVolume) {
	return func(pv *corev1.PersistentVolume) {
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{n}}},
		}}}}
	}
}

func TestFindVolume(t *testing.T) {
	gold := ptr.To("gold")
	node := func(n string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{corev1.LabelHostname: n}}}
	}
	cases := []struct {
		name    string
		claim   *corev1.PersistentVolumeClaim
		vols    []*corev1.PersistentVolume
		node    *corev1.Node
		delay   bool
		want    string
		wantErr bool
	}{
		{name: "smallest fit", claim: claim("3Gi", gold), vols: []*corev1.PersistentVolume{vol("a", "10Gi", "gold"), vol("b", "5Gi", "gold"), vol("c", "1Gi", "gold")}, want: "b"},
		{name: "equal sizes pick first by name", claim: claim("1Gi", gold), vols: []*corev1.PersistentVolume{vol("z", "2Gi", "gold"), vol("y", "2Gi", "gold")}, want: "y"},
		{name: "none big enough", claim: claim("3Gi", gold), vols: []*corev1.PersistentVolume{vol("a", "1Gi", "gold")}, want: ""},
		{name: "class must match", claim: claim("1Gi", gold), vols: []*corev1.PersistentVolume{vol("a", "1Gi", "silver"), vol("b", "1Gi", "")}, want: ""},
		{name: "empty class only matches empty", claim: claim("1Gi", ptr.To("")), vols: []*corev1.PersistentVolume{vol("a", "1Gi", "gold"), vol("b", "1Gi", "")}, want: "b"},
		{name: "nil class is empty class", claim: claim("1Gi", nil), vols: []*corev1.PersistentVolume{vol("a", "1Gi", "gold"), vol("b", "1Gi", "")}, want: "b"},
		{name: "access modes superset", claim: claim("1Gi", gold, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}), vols: []*corev1.PersistentVolume{vol("rwo", "1Gi", "gold"), vol("rwx", "5Gi", "gold", func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteMany}
		})}, want: "rwx"},
		{name: "selector", claim: claim("1Gi", gold, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"disk": "ssd"}}
		}), vols: []*corev1.PersistentVolume{vol("hdd", "1Gi", "gold"), vol("ssd", "9Gi", "gold", func(pv *corev1.PersistentVolume) { pv.Labels = map[string]string{"disk": "ssd"} })}, want: "ssd"},
		{name: "block mode", claim: claim("1Gi", gold, func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }),
			vols: []*corev1.PersistentVolume{vol("fs", "1Gi", "gold"), vol("blk", "2Gi", "gold", func(pv *corev1.PersistentVolume) { pv.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) })}, want: "blk"},
		{name: "bound volumes are skipped", claim: claim("1Gi", gold), vols: []*corev1.PersistentVolume{vol("taken", "1Gi", "gold", func(pv *corev1.PersistentVolume) {
			pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "other", UID: "uid-o"}
		}), vol("free", "3Gi", "gold")}, want: "free"},
		{name: "pre-bound by claimRef wins", claim: claim("1Gi", gold), vols: []*corev1.PersistentVolume{vol("free", "1Gi", "gold"), vol("mine", "8Gi", "gold", func(pv *corev1.PersistentVolume) {
			pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "c"}
		})}, want: "mine"},
		{name: "delay without node only takes pre-bound", claim: claim("1Gi", gold), vols: []*corev1.PersistentVolume{vol("free", "1Gi", "gold")}, delay: true, want: ""},
		{name: "node affinity", claim: claim("1Gi", gold), vols: []*corev1.PersistentVolume{vol("n1", "1Gi", "gold", onNode("n1")), vol("n2", "2Gi", "gold", onNode("n2"))}, node: node("n2"), delay: true, want: "n2"},
		{name: "node affinity excludes all", claim: claim("1Gi", gold), vols: []*corev1.PersistentVolume{vol("n1", "1Gi", "gold", onNode("n1"))}, node: node("n3"), delay: true, want: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FindVolume(c.claim, c.vols, c.node, c.delay)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v", err)
			}
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != c.want {
				t.Fatalf("FindVolume = %q, want %q", name, c.want)
			}
		})
	}
}

func TestCheckVolumeSatisfiesClaim(t *testing.T) {
	gold := ptr.To("gold")
	cases := []struct {
		name string
		pv   *corev1.PersistentVolume
		c    *corev1.PersistentVolumeClaim
		ok   bool
	}{
		{"fits", vol("a", "2Gi", "gold"), claim("1Gi", gold), true},
		{"too small", vol("a", "1Gi", "gold"), claim("2Gi", gold), false},
		{"class", vol("a", "2Gi", "silver"), claim("1Gi", gold), false},
		{"mode", vol("a", "2Gi", "gold"), claim("1Gi", gold, func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }), false},
		{"access", vol("a", "2Gi", "gold"), claim("1Gi", gold, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}
		}), false},
	}
	for _, c := range cases {
		if err := CheckVolumeSatisfiesClaim(c.pv, c.c); (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok %v", c.name, err, c.ok)
		}
	}
}

func TestDefaultClass(t *testing.T) {
	old := metav1.NewTime(time.Now().Add(-time.Hour))
	now := metav1.Now()
	sc := func(name string, def bool, at metav1.Time) storagev1.StorageClass {
		c := storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: at}}
		if def {
			c.Annotations = map[string]string{AnnDefaultClass: "true"}
		}
		return c
	}
	if got := DefaultClass([]storagev1.StorageClass{sc("a", false, now)}); got != nil {
		t.Fatalf("no default: got %s", got.Name)
	}
	if got := DefaultClass([]storagev1.StorageClass{sc("old", true, old), sc("new", true, now), sc("x", false, now)}); got == nil || got.Name != "new" {
		t.Fatalf("newest default: got %v", got)
	}
}
