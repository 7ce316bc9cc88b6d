package statefulset

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	setKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	podKind = corev1.SchemeGroupVersion.WithKind("Pod")
)

// podNameRe splits a pod name into its set's name and its ordinal.
var podNameRe = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal is the set name and ordinal encoded in a pod's name
// ("", -1 when it has none).
func parentAndOrdinal(pod *corev1.Pod) (string, int) {
	m := podNameRe.FindStringSubmatch(pod.Name)
	if m == nil {
		return "", -1
	}
	i, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(i)
}

func ordinalOf(pod *corev1.Pod) int {
	_, o := parentAndOrdinal(pod)
	return o
}

func isMemberOf(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	p, _ := parentAndOrdinal(pod)
	return p == set.Name
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicasOf(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inOrdinalRange reports whether ordinal belongs to the set's current
// range [start, start+replicas).
func inOrdinalRange(set *appsv1.StatefulSet, ordinal int) bool {
	s := startOrdinal(set)
	return ordinal >= s && ordinal < s+replicasOf(set)
}

func podName(set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

func claimName(set *appsv1.StatefulSet, template string, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", template, set.Name, ordinal)
}

// identityMatches reports whether pod carries the identity of its ordinal.
func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ordinal := parentAndOrdinal(pod)
	return ordinal >= 0 && parent == set.Name && pod.Namespace == set.Namespace &&
		pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name &&
		pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(ordinal)
}

// setIdentityLabels sets the pod-name and pod-index labels.
func setIdentityLabels(pod *corev1.Pod) {
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(ordinalOf(pod))
}

// claimsFor are the PVCs pod needs, one per volumeClaimTemplate, in
// template order, labelled with the template's labels and the set's
// selector matchLabels.
func claimsFor(set *appsv1.StatefulSet, ordinal int) []corev1.PersistentVolumeClaim {
	out := make([]corev1.PersistentVolumeClaim, 0, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		tmpl := set.Spec.VolumeClaimTemplates[i]
		claim := corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:        claimName(set, tmpl.Name, ordinal),
				Namespace:   set.Namespace,
				Labels:      map[string]string{},
				Annotations: copyMap(tmpl.Annotations),
			},
			Spec: *tmpl.Spec.DeepCopy(),
		}
		for k, v := range tmpl.Labels {
			claim.Labels[k] = v
		}
		if set.Spec.Selector != nil {
			for k, v := range set.Spec.Selector.MatchLabels {
				claim.Labels[k] = v
			}
		}
		out = append(out, claim)
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// setStorage makes pod's volumes named after claim templates refer to its
// claims, keeping its other volumes.
func setStorage(set *appsv1.StatefulSet, pod *corev1.Pod) {
	ordinal := ordinalOf(pod)
	byName := map[string]bool{}
	vols := make([]corev1.Volume, 0, len(pod.Spec.Volumes)+len(set.Spec.VolumeClaimTemplates))
	for _, t := range set.Spec.VolumeClaimTemplates {
		byName[t.Name] = true
		vols = append(vols, corev1.Volume{
			Name: t.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: claimName(set, t.Name, ordinal),
			}},
		})
	}
	for _, v := range pod.Spec.Volumes {
		if !byName[v.Name] {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// newPod is the pod for ordinal built from template, labelled with
// revision.
func newPod(set *appsv1.StatefulSet, template *corev1.PodTemplateSpec, ordinal int, revision string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            podName(set, ordinal),
			Namespace:       set.Namespace,
			Labels:          copyMap(template.Labels),
			Annotations:     copyMap(template.Annotations),
			Finalizers:      append([]string(nil), template.Finalizers...),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, setKind)},
		},
		Spec: *template.Spec.DeepCopy(),
	}
	setIdentityLabels(pod)
	pod.Labels[appsv1.StatefulSetRevisionLabel] = revision
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	setStorage(set, pod)
	return pod
}

func podRevision(pod *corev1.Pod) string { return pod.Labels[appsv1.StatefulSetRevisionLabel] }

func isCreated(pod *corev1.Pod) bool     { return pod.Status.Phase != "" }
func isPending(pod *corev1.Pod) bool     { return pod.Status.Phase == corev1.PodPending }
func isTerminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }
func isFinished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}

func podReadyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func isRunningAndReady(pod *corev1.Pod) bool {
	c := podReadyCondition(pod)
	return pod.Status.Phase == corev1.PodRunning && c != nil && c.Status == corev1.ConditionTrue
}

// availableIn is how long until a running and ready pod has been ready for
// minReadySeconds (0 when it is available now, -1 when it is not ready).
func availableIn(pod *corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	if !isRunningAndReady(pod) {
		return -1
	}
	if minReadySeconds == 0 {
		return 0
	}
	c := podReadyCondition(pod)
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if c.LastTransitionTime.IsZero() || !at.After(now) {
		return 0
	}
	return at.Sub(now)
}

func isRunningAndAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return availableIn(pod, minReadySeconds, now) == 0
}

func isHealthy(pod *corev1.Pod) bool { return isRunningAndReady(pod) && !isTerminating(pod) }

// sortByOrdinal sorts pods by ordinal, ascending or descending.
func sortByOrdinal(pods []*corev1.Pod, descending bool) {
	sort.SliceStable(pods, func(i, j int) bool {
		if descending {
			return ordinalOf(pods[i]) > ordinalOf(pods[j])
		}
		return ordinalOf(pods[i]) < ordinalOf(pods[j])
	})
}

// retentionPolicy is the set's policy with Retain for unset fields.
func retentionPolicy(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if rp := set.Spec.PersistentVolumeClaimRetentionPolicy; rp != nil {
		if rp.WhenDeleted != "" {
			p.WhenDeleted = rp.WhenDeleted
		}
		if rp.WhenScaled != "" {
			p.WhenScaled = rp.WhenScaled
		}
	}
	return p
}

// refMatches reports whether ref names obj of kind gvk (by name, any UID).
func refMatches(ref *metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == gvk.Group && ref.Kind == gvk.Kind && ref.Name == obj.GetName()
}

// hasStaleRef reports whether claim has a ref to an earlier object of
// obj's kind and name (another UID): such a claim belongs to a deleted pod
// or set and is left to the garbage collector.
func hasStaleRef(claim *corev1.PersistentVolumeClaim, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	for i := range claim.OwnerReferences {
		if refMatches(&claim.OwnerReferences[i], obj, gvk) {
			return claim.OwnerReferences[i].UID != obj.GetUID()
		}
	}
	return false
}

// desiredClaimRefs is claim's ownerReferences as the retention policy
// wants them for pod, and whether they differ from the current ones. A
// claim controlled by something else keeps that controller and gets none
// of ours; one with stale refs is left alone.
func desiredClaimRefs(set *appsv1.StatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) ([]metav1.OwnerReference, bool) {
	if hasStaleRef(claim, set, setKind) || (pod.UID != "" && hasStaleRef(claim, pod, podKind)) {
		return claim.OwnerReferences, false
	}
	ours := func(ref *metav1.OwnerReference) bool {
		return ref.UID == set.UID || (pod.UID != "" && ref.UID == pod.UID)
	}
	var refs []metav1.OwnerReference
	foreignController := false
	for _, ref := range claim.OwnerReferences {
		if ours(&ref) {
			continue
		}
		if ref.Controller != nil && *ref.Controller {
			foreignController = true
		}
		refs = append(refs, ref)
	}
	if !foreignController {
		policy := retentionPolicy(set)
		scaledDown := !inOrdinalRange(set, ordinalOf(pod))
		const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		switch {
		case policy.WhenScaled == del && scaledDown:
			if pod.UID != "" {
				refs = append(refs, *metav1.NewControllerRef(pod, podKind))
			}
		case policy.WhenDeleted == del:
			refs = append(refs, *metav1.NewControllerRef(set, setKind))
		}
	}
	return refs, !sameRefs(refs, claim.OwnerReferences)
}

func sameRefs(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(r metav1.OwnerReference) string {
		return fmt.Sprintf("%s/%v", r.UID, r.Controller != nil && *r.Controller)
	}
	seen := map[string]int{}
	for _, r := range a {
		seen[key(r)]++
	}
	for _, r := range b {
		seen[key(r)]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
