package persistentvolume

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

// Annotations marking default storage classes.
const (
	AnnDefaultClass     = "storageclass.kubernetes.io/is-default-class"
	AnnBetaDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"
)

// NoProvisioner is the provisioner of classes for static volumes only.
const NoProvisioner = "kubernetes.io/no-provisioner"

// FindVolume returns the best Available volume for claim among volumes (or
// one pre-bound to it), nil if none fits. node is the node the claim's first
// consumer was scheduled to (WaitForFirstConsumer), nil otherwise;
// delayBinding without a node only admits volumes pre-bound to the claim.
func FindVolume(claim *corev1.PersistentVolumeClaim, volumes []*corev1.PersistentVolume, node *corev1.Node, delayBinding bool) (*corev1.PersistentVolume, error) {
	// As upstream's volume index: volumes are grouped by their set of
	// access modes; the sets that include every mode the claim asks for are
	// tried from the fewest modes up, so a claim takes the least capable
	// volume that serves it; within a set the smallest that fits wins.
	groups := map[string][]*corev1.PersistentVolume{}
	modes := map[string][]corev1.PersistentVolumeAccessMode{}
	for _, pv := range volumes {
		k := modesKey(pv.Spec.AccessModes)
		groups[k] = append(groups[k], pv)
		modes[k] = pv.Spec.AccessModes
	}
	var keys []string
	for k, m := range modes {
		if containsAll(m, claim.Spec.AccessModes) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(modes[keys[i]]) != len(modes[keys[j]]) {
			return len(modes[keys[i]]) < len(modes[keys[j]])
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		vols := groups[k]
		// Deterministic order: FindMatchingVolume keeps the first smallest.
		sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
		pv, err := storagehelpers.FindMatchingVolume(claim, vols, node, nil, delayBinding && node == nil, true)
		if err != nil {
			return nil, fmt.Errorf("find volume for claim %s/%s: %w", claim.Namespace, claim.Name, err)
		}
		if pv != nil {
			return pv, nil
		}
	}
	return nil, nil
}

func modesKey(m []corev1.PersistentVolumeAccessMode) string {
	s := make([]string, 0, len(m))
	for _, x := range m {
		s = append(s, string(x))
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func containsAll(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// CheckVolumeSatisfiesClaim reports why a volume a claim names in
// spec.volumeName cannot serve it (nil: it can).
func CheckVolumeSatisfiesClaim(volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	if volume.DeletionTimestamp != nil {
		return fmt.Errorf("the volume is marked for deletion %q", volume.Name)
	}
	req := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	have := volume.Spec.Capacity[corev1.ResourceStorage]
	if have.Value() < req.Value() {
		return fmt.Errorf("requested PV is too small")
	}
	if storagehelpers.GetPersistentVolumeClass(volume) != storagehelpers.GetPersistentVolumeClaimClass(claim) {
		return fmt.Errorf("storageClassName does not match")
	}
	if ptr.Deref(claim.Spec.VolumeAttributesClassName, "") != ptr.Deref(volume.Spec.VolumeAttributesClassName, "") {
		return fmt.Errorf("volumeAttributesClassName does not match")
	}
	if storagehelpers.CheckVolumeModeMismatches(&claim.Spec, &volume.Spec) {
		return fmt.Errorf("incompatible volumeMode")
	}
	if !storagehelpers.CheckAccessModes(claim, volume) {
		return fmt.Errorf("incompatible accessMode")
	}
	return nil
}

// IsDefaultClass reports a class annotated as the cluster default.
func IsDefaultClass(c *storagev1.StorageClass) bool {
	return c.Annotations[AnnDefaultClass] == "true" || c.Annotations[AnnBetaDefaultClass] == "true"
}

// DefaultClass picks the default class among classes: the newest of those
// annotated default (ties by name), nil when there is none.
func DefaultClass(classes []storagev1.StorageClass) *storagev1.StorageClass {
	var best *storagev1.StorageClass
	for i := range classes {
		c := &classes[i]
		if !IsDefaultClass(c) {
			continue
		}
		if best == nil || c.CreationTimestamp.After(best.CreationTimestamp.Time) ||
			(c.CreationTimestamp.Equal(&best.CreationTimestamp) && c.Name < best.Name) {
			best = c
		}
	}
	return best
}

// IsDeletable reports volume sources whose Delete reclaim this controller
// carries out itself by deleting the PV object: hostPath and local volumes,
// which have no storage backend to deprovision.
func IsDeletable(pv *corev1.PersistentVolume) bool {
	return pv.Spec.HostPath != nil || pv.Spec.Local != nil
}
