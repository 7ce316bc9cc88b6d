package node

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/dynamic-resource-allocation/resourceclaim"
)

// podContainers lists every container of a pod spec: init, regular and
// ephemeral.
func podContainers(spec *corev1.PodSpec) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	for i := range spec.InitContainers {
		out = append(out, &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		out = append(out, (*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	return out
}

// PodSecretNames returns the names of the secrets a pod references directly:
// image pull secrets, env and envFrom of every container, and the secret
// fields of its volumes (secret, projected secret sources, and the secretRef
// of the volume plugins that take one). Secrets reached through a PVC's
// volume are not included. Empty names are skipped; a name may repeat.
func PodSecretNames(pod *corev1.Pod) []string {
	var names []string
	add := func(name string) {
		if name != "" {
			names = append(names, name)
		}
	}
	addRef := func(ref *corev1.LocalObjectReference) {
		if ref != nil {
			add(ref.Name)
		}
	}
	for _, s := range pod.Spec.ImagePullSecrets {
		add(s.Name)
	}
	for _, c := range podContainers(&pod.Spec) {
		for _, from := range c.EnvFrom {
			if from.SecretRef != nil {
				add(from.SecretRef.Name)
			}
		}
		for _, env := range c.Env {
			if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil {
				add(env.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i].VolumeSource
		switch {
		case v.Secret != nil:
			add(v.Secret.SecretName)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					add(src.Secret.Name)
				}
			}
		case v.AzureFile != nil:
			add(v.AzureFile.SecretName)
		case v.CephFS != nil:
			addRef(v.CephFS.SecretRef)
		case v.Cinder != nil:
			addRef(v.Cinder.SecretRef)
		case v.FlexVolume != nil:
			addRef(v.FlexVolume.SecretRef)
		case v.RBD != nil:
			addRef(v.RBD.SecretRef)
		case v.ScaleIO != nil:
			addRef(v.ScaleIO.SecretRef)
		case v.ISCSI != nil:
			addRef(v.ISCSI.SecretRef)
		case v.StorageOS != nil:
			addRef(v.StorageOS.SecretRef)
		case v.CSI != nil:
			addRef(v.CSI.NodePublishSecretRef)
		}
	}
	return names
}

// PodConfigMapNames returns the names of the config maps a pod references:
// env and envFrom of every container, configMap volumes and projected
// configMap sources. Empty names are skipped; a name may repeat.
func PodConfigMapNames(pod *corev1.Pod) []string {
	var names []string
	add := func(name string) {
		if name != "" {
			names = append(names, name)
		}
	}
	for _, c := range podContainers(&pod.Spec) {
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef != nil {
				add(from.ConfigMapRef.Name)
			}
		}
		for _, env := range c.Env {
			if env.ValueFrom != nil && env.ValueFrom.ConfigMapKeyRef != nil {
				add(env.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i].VolumeSource
		switch {
		case v.ConfigMap != nil:
			add(v.ConfigMap.Name)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					add(src.ConfigMap.Name)
				}
			}
		}
	}
	return names
}

// podClaimNames returns the persistent volume claims a pod's volumes use,
// including the claims generated for its generic ephemeral volumes.
func podClaimNames(pod *corev1.Pod) []string {
	var names []string
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != "":
			names = append(names, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			names = append(names, ephemeral.VolumeClaimName(pod, v))
		}
	}
	return names
}

// podResourceClaimNames returns the ResourceClaims a pod uses that exist (or
// are named) already: those its spec names, those generated from templates
// and recorded in its status, and the claim for its extended resources.
func podResourceClaimNames(pod *corev1.Pod) []string {
	var names []string
	for i := range pod.Spec.ResourceClaims {
		// An error means the claim is not created yet; nil means none is
		// needed.
		name, _, err := resourceclaim.Name(pod, &pod.Spec.ResourceClaims[i])
		if err == nil && name != nil {
			names = append(names, *name)
		}
	}
	if s := pod.Status.ExtendedResourceClaimStatus; s != nil && s.ResourceClaimName != "" {
		names = append(names, s.ResourceClaimName)
	}
	return names
}

// pvSecret is a secret a persistent volume references.
type pvSecret struct {
	namespace, name string
}

// kubeletVisiblePVSecrets returns the secrets of a persistent volume that the
// kubelet needs to mount it. A secret reference without a namespace means the
// namespace of the volume's claim. The CSI controller publish and expand
// secrets are for the CSI controller, not the kubelet, and are left out.
func kubeletVisiblePVSecrets(pv *corev1.PersistentVolume) []pvSecret {
	claimNamespace := ""
	if pv.Spec.ClaimRef != nil {
		claimNamespace = pv.Spec.ClaimRef.Namespace
	}
	var out []pvSecret
	add := func(namespace, name string) {
		if name != "" {
			out = append(out, pvSecret{namespace: namespace, name: name})
		}
	}
	// addRef adds a SecretReference whose empty namespace defaults to the
	// claim's.
	addRef := func(ref *corev1.SecretReference) {
		if ref == nil {
			return
		}
		ns := ref.Namespace
		if ns == "" {
			ns = claimNamespace
		}
		add(ns, ref.Name)
	}
	// addExact adds a SecretReference taken as written.
	addExact := func(ref *corev1.SecretReference) {
		if ref != nil {
			add(ref.Namespace, ref.Name)
		}
	}
	s := &pv.Spec.PersistentVolumeSource
	switch {
	case s.AzureFile != nil:
		ns := claimNamespace
		if s.AzureFile.SecretNamespace != nil && *s.AzureFile.SecretNamespace != "" {
			ns = *s.AzureFile.SecretNamespace
		}
		add(ns, s.AzureFile.SecretName)
	case s.CephFS != nil:
		addRef(s.CephFS.SecretRef)
	case s.Cinder != nil:
		addExact(s.Cinder.SecretRef)
	case s.FlexVolume != nil:
		addRef(s.FlexVolume.SecretRef)
	case s.RBD != nil:
		addRef(s.RBD.SecretRef)
	case s.ScaleIO != nil:
		addRef(s.ScaleIO.SecretRef)
	case s.ISCSI != nil:
		addRef(s.ISCSI.SecretRef)
	case s.StorageOS != nil:
		if s.StorageOS.SecretRef != nil {
			add(s.StorageOS.SecretRef.Namespace, s.StorageOS.SecretRef.Name)
		}
	case s.CSI != nil:
		addExact(s.CSI.NodePublishSecretRef)
		addExact(s.CSI.NodeStageSecretRef)
		addExact(s.CSI.NodeExpandSecretRef)
	}
	return out
}
