package persistentvolume_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/volume/persistentvolume"
	"github.com/skiff-dev/skiff/controllers/volume/pvcprotection"
	"github.com/skiff-dev/skiff/controllers/volume/pvprotection"
)

// One API server for the binder and both protection controllers.
var env *controllertest.Env

func TestMain(m *testing.M) {
	controllertest.Run(m, &env, controllertest.Options{Controllers: []controllers.Descriptor{
		persistentvolume.Descriptor, pvcprotection.Descriptor, pvprotection.Descriptor,
	}})
}

type pvOpt func(*corev1.PersistentVolume)

func newPV(name, size, class string, opts ...pvOpt) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + name}},
		},
	}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

func modes(m ...corev1.PersistentVolumeAccessMode) pvOpt {
	return func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = m }
}
func pvLabels(l map[string]string) pvOpt { return func(pv *corev1.PersistentVolume) { pv.Labels = l } }
func block() pvOpt {
	return func(pv *corev1.PersistentVolume) {
		pv.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
		pv.Spec.HostPath = nil
		pv.Spec.Local = &corev1.LocalVolumeSource{Path: "/dev/x"}
		pv.Spec.NodeAffinity = hostAffinity("anywhere")
	}
}
func reclaim(p corev1.PersistentVolumeReclaimPolicy) pvOpt {
	return func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = p }
}
func claimRef(ns, name string) pvOpt {
	return func(pv *corev1.PersistentVolume) {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: name}
	}
}
func localOn(node string) pvOpt {
	return func(pv *corev1.PersistentVolume) {
		pv.Spec.HostPath = nil
		pv.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/" + node}
		pv.Spec.NodeAffinity = hostAffinity(node)
	}
}

func hostAffinity(node string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}}
}

type pvcOpt func(*corev1.PersistentVolumeClaim)

func newPVC(name, size string, class *string, opts ...pvcOpt) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	for _, o := range opts {
		o(pvc)
	}
	return pvc
}

func createPV(t *testing.T, ctx context.Context, pv *corev1.PersistentVolume) {
	t.Helper()
	if _, err := env.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pv %s: %v", pv.Name, err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
}

func createPVC(t *testing.T, ctx context.Context, ns string, pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	t.Helper()
	c, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pvc %s: %v", pvc.Name, err)
	}
	return c
}

// waitBound waits for claim ns/name and volume pv to be bound to each other
// with the two-phase bind's annotations and phases.
func waitBound(t *testing.T, ns, name, pv string, byController bool) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		c, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		v, err := env.Client.CoreV1().PersistentVolumes().Get(ctx, pv, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		switch {
		case c.Spec.VolumeName != pv:
			return false, fmt.Errorf("claim volumeName %q, want %q", c.Spec.VolumeName, pv)
		case c.Annotations[storagehelpers.AnnBindCompleted] != "yes":
			return false, fmt.Errorf("claim annotations %v", c.Annotations)
		case c.Status.Phase != corev1.ClaimBound:
			return false, fmt.Errorf("claim phase %s", c.Status.Phase)
		case c.Status.Capacity.Storage().Cmp(*v.Spec.Capacity.Storage()) != 0:
			return false, fmt.Errorf("claim capacity %v", c.Status.Capacity)
		case v.Spec.ClaimRef == nil || v.Spec.ClaimRef.UID != c.UID:
			return false, fmt.Errorf("volume claimRef %+v", v.Spec.ClaimRef)
		case v.Status.Phase != corev1.VolumeBound:
			return false, fmt.Errorf("volume phase %s", v.Status.Phase)
		case (v.Annotations[storagehelpers.AnnBoundByController] == "yes") != byController:
			return false, fmt.Errorf("volume annotations %v, want bound-by-controller %v", v.Annotations, byController)
		}
		return true, nil
	}, "claim %s/%s bound to %s", ns, name, pv)
}

// waitEvent waits for an event of reason about object name in ns.
func waitEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		evs, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == name && e.Reason == reason {
				return true, nil
			}
		}
		return false, nil
	}, "event %s for %s", reason, name)
}

func claimPhase(t *testing.T, ctx context.Context, ns, name string) (*corev1.PersistentVolumeClaim, error) {
	t.Helper()
	return env.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
}

func TestBindingMatrix(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	type tc struct {
		name   string
		pvs    []*corev1.PersistentVolume
		claim  *corev1.PersistentVolumeClaim
		want   string // volume to bind to ("" stays Pending)
		byCtrl bool   // volume gets bound-by-controller
		event  string // event the pending claim gets
	}
	p := func(s string) string { return ns + "-" + s }
	cases := []tc{
		{name: "smallest that fits", pvs: []*corev1.PersistentVolume{newPV(p("s1"), "1Gi", p("c1")), newPV(p("s10"), "10Gi", p("c1")), newPV(p("s5"), "5Gi", p("c1"))},
			claim: newPVC("smallest", "3Gi", ptr.To(p("c1"))), want: p("s5"), byCtrl: true},
		{name: "access modes", pvs: []*corev1.PersistentVolume{newPV(p("rwo"), "1Gi", p("c2")), newPV(p("rwx"), "2Gi", p("c2"), modes(corev1.ReadWriteMany, corev1.ReadWriteOnce))},
			claim: newPVC("rwx", "1Gi", ptr.To(p("c2")), func(c *corev1.PersistentVolumeClaim) {
				c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			}),
			want: p("rwx"), byCtrl: true},
		{name: "too small stays pending", pvs: []*corev1.PersistentVolume{newPV(p("tiny"), "1Gi", p("c3"))},
			claim: newPVC("big", "2Gi", ptr.To(p("c3"))), want: "", event: persistentvolume.EventProvisioningFailed},
		{name: "selector", pvs: []*corev1.PersistentVolume{newPV(p("tier-a"), "1Gi", p("c4"), pvLabels(map[string]string{"tier": "a"})), newPV(p("tier-b"), "2Gi", p("c4"), pvLabels(map[string]string{"tier": "b"}))},
			claim: newPVC("selected", "1Gi", ptr.To(p("c4")), func(c *corev1.PersistentVolumeClaim) {
				c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "b"}}
			}), want: p("tier-b"), byCtrl: true},
		{name: "volume mode", pvs: []*corev1.PersistentVolume{newPV(p("fs"), "1Gi", p("c5")), newPV(p("blk"), "2Gi", p("c5"), block())},
			claim: newPVC("block", "1Gi", ptr.To(p("c5")), func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }),
			want:  p("blk"), byCtrl: true},
		{name: "class mismatch", pvs: []*corev1.PersistentVolume{newPV(p("other"), "1Gi", p("c6a"))},
			claim: newPVC("mismatch", "1Gi", ptr.To(p("c6b"))), want: ""},
		{name: "volumeName pre-binding", pvs: []*corev1.PersistentVolume{newPV(p("pre-x"), "1Gi", p("c7")), newPV(p("pre-y"), "9Gi", p("c7"))},
			claim: newPVC("named", "1Gi", ptr.To(p("c7")), func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = p("pre-y") }),
			want:  p("pre-y"), byCtrl: true},
		{name: "volumeName mismatch", pvs: []*corev1.PersistentVolume{newPV(p("small-named"), "1Gi", p("c9"))},
			claim: newPVC("named-small", "5Gi", ptr.To(p("c9")), func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = p("small-named") }),
			want:  "", event: persistentvolume.EventVolumeMismatch},
		{name: "claimRef pre-binding", pvs: []*corev1.PersistentVolume{newPV(p("free"), "1Gi", p("c8")), newPV(p("reserved"), "5Gi", p("c8"), claimRef(ns, "reserved-for"))},
			claim: newPVC("reserved-for", "1Gi", ptr.To(p("c8"))), want: p("reserved"), byCtrl: false},
		{name: "empty class", pvs: []*corev1.PersistentVolume{newPV(p("classless"), "1Gi", "", pvLabels(map[string]string{"case": ns}))},
			claim: newPVC("classless", "1Gi", ptr.To(""), func(c *corev1.PersistentVolumeClaim) {
				c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"case": ns}}
			}), want: p("classless"), byCtrl: true},
	}
	for _, c := range cases {
		for _, pv := range c.pvs {
			createPV(t, ctx, pv)
		}
	}
	// Claims are created once the binder has seen every volume (it marks
	// them Available), so "smallest that fits" is decided among all of them.
	for _, c := range cases {
		for _, pv := range c.pvs {
			waitVolumePhase(t, pv.Name, corev1.VolumeAvailable)
		}
	}
	for _, c := range cases {
		createPVC(t, ctx, ns, c.claim)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want != "" {
				waitBound(t, ns, c.claim.Name, c.want, c.byCtrl)
				return
			}
			if c.event != "" {
				waitEvent(t, ns, c.claim.Name, c.event)
			}
			controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
				got, err := claimPhase(t, ctx, ns, c.claim.Name)
				if err != nil {
					return false, err
				}
				return check(got.Status.Phase == corev1.ClaimPending, "phase %q", got.Status.Phase)
			}, "claim pending")
		})
	}
	// The claims that must stay pending did not take a volume meanwhile.
	for _, c := range cases {
		if c.want != "" {
			continue
		}
		got, err := claimPhase(t, ctx, ns, c.claim.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.VolumeName != c.claim.Spec.VolumeName || got.Status.Phase != corev1.ClaimPending {
			t.Errorf("%s: claim volumeName %q phase %s, want pending", c.name, got.Spec.VolumeName, got.Status.Phase)
		}
	}
}

func waitVolumePhase(t *testing.T, name string, want corev1.PersistentVolumePhase) {
	t.Helper()
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		v, err := env.Client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return check(v.Status.Phase == want, "phase %s", v.Status.Phase)
	}, "volume %s %s", name, want)
}

func TestReleaseAndReclaim(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	class := ns + "-reclaim"
	pols := []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimRetain, corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle}
	for _, pol := range pols {
		name := volName(ns, pol)
		createPV(t, ctx, newPV(name, "1Gi", class, reclaim(pol), claimRef(ns, strings.ToLower(string(pol)))))
		createPVC(t, ctx, ns, newPVC(strings.ToLower(string(pol)), "1Gi", &class))
	}
	for _, pol := range pols {
		waitBound(t, ns, strings.ToLower(string(pol)), volName(ns, pol), false)
	}
	for _, pol := range pols {
		if err := env.Client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, strings.ToLower(string(pol)), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	phase := func(pol corev1.PersistentVolumeReclaimPolicy, want corev1.PersistentVolumePhase) {
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			v, err := env.Client.CoreV1().PersistentVolumes().Get(ctx, volName(ns, pol), metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return check(v.Status.Phase == want, "phase %s", v.Status.Phase)
		}, "%s volume %s", pol, want)
	}
	phase(corev1.PersistentVolumeReclaimRetain, corev1.VolumeReleased)
	phase(corev1.PersistentVolumeReclaimRecycle, corev1.VolumeFailed)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().PersistentVolumes().Get(ctx, fmt.Sprintf("%s-%s", ns, corev1.PersistentVolumeReclaimDelete), metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "Delete volume deleted")
}

func volName(ns string, pol corev1.PersistentVolumeReclaimPolicy) string {
	return ns + "-" + strings.ToLower(string(pol))
}

func TestWaitForFirstConsumer(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: ns + "-wffc"},
		Provisioner:       persistentvolume.NoProvisioner,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	if _, err := env.Client.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.StorageV1().StorageClasses().Delete(context.Background(), class.Name, metav1.DeleteOptions{})
	})
	n1, n2 := ns+"-n1", ns+"-n2"
	for _, n := range []string{n1, n2} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{corev1.LabelHostname: n}}}
		if _, err := env.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), n, metav1.DeleteOptions{}) })
		createPV(t, ctx, newPV(n+"-pv", "1Gi", class.Name, localOn(n)))
	}
	createPVC(t, ctx, ns, newPVC("late", "1Gi", &class.Name))
	waitEvent(t, ns, "late", persistentvolume.EventWaitForFirstConsumer)
	got, err := claimPhase(t, ctx, ns, "late")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.VolumeName != "" {
		t.Fatalf("claim bound to %s before its consumer was scheduled", got.Spec.VolumeName)
	}
	metav1.SetMetaDataAnnotation(&got.ObjectMeta, storagehelpers.AnnSelectedNode, n2)
	if _, err := env.Client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("select node: %v", err)
	}
	waitBound(t, ns, "late", n2+"-pv", true)
}

// check is a poll result: ok, or not yet with what was seen.
func check(ok bool, format string, args ...any) (bool, error) {
	if ok {
		return true, nil
	}
	return false, fmt.Errorf(format, args...)
}

func TestRetroactiveDefaultClassAndExternalProvisioning(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	def := ns + "-default"
	createPV(t, ctx, newPV(def+"-pv", "1Gi", def))
	waitVolumePhase(t, def+"-pv", corev1.VolumeAvailable)
	createPVC(t, ctx, ns, newPVC("classless", "1Gi", nil))
	waitEvent(t, ns, "classless", persistentvolume.EventFailedBinding)
	sc := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: def, Annotations: map[string]string{persistentvolume.AnnDefaultClass: "true"}},
		Provisioner: persistentvolume.NoProvisioner,
	}
	if _, err := env.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.StorageV1().StorageClasses().Delete(context.Background(), def, metav1.DeleteOptions{})
	})
	// The default class is assigned to the pending claim, which then binds.
	waitBound(t, ns, "classless", def+"-pv", true)
	got, err := claimPhase(t, ctx, ns, "classless")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.StorageClassName == nil || *got.Spec.StorageClassName != def {
		t.Fatalf("storageClassName %v, want %s", got.Spec.StorageClassName, def)
	}

	ext := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: ns + "-ext"}, Provisioner: "example.com/csi"}
	if _, err := env.Client.StorageV1().StorageClasses().Create(ctx, ext, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.StorageV1().StorageClasses().Delete(context.Background(), ext.Name, metav1.DeleteOptions{})
	})
	createPVC(t, ctx, ns, newPVC("dynamic", "1Gi", &ext.Name))
	waitEvent(t, ns, "dynamic", persistentvolume.EventExternalProvisioning)
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		c, err := claimPhase(t, ctx, ns, "dynamic")
		if err != nil {
			return false, err
		}
		return check(c.Annotations[storagehelpers.AnnStorageProvisioner] == "example.com/csi", "annotations %v", c.Annotations)
	}, "claim handed to its external provisioner")
}
