package serviceaccount

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
)

// validateMirrorPod forbids mirror pods any service account, any secret
// reference and any projected service account token.
func validateMirrorPod(a admission.Attributes, pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName != "" {
		return admission.NewForbidden(a, errors.New("a mirror pod may not reference service accounts"))
	}
	if referencesSecrets(pod) {
		return admission.NewForbidden(a, errors.New("a mirror pod may not reference secrets"))
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return admission.NewForbidden(a, errors.New("a mirror pod may not use ServiceAccountToken volume projections"))
			}
		}
	}
	return nil
}

// referencesSecrets tells whether pod names any secret: as an image pull
// secret, from any container's env or envFrom, or in any volume source that
// takes one.
func referencesSecrets(pod *corev1.Pod) bool {
	for _, ref := range pod.Spec.ImagePullSecrets {
		if ref.Name != "" {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if envReferencesSecrets(c.Env, c.EnvFrom) {
			return true
		}
	}
	for _, c := range pod.Spec.Containers {
		if envReferencesSecrets(c.Env, c.EnvFrom) {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if envReferencesSecrets(c.Env, c.EnvFrom) {
			return true
		}
	}
	for i := range pod.Spec.Volumes {
		if volumeReferencesSecret(&pod.Spec.Volumes[i].VolumeSource) {
			return true
		}
	}
	return false
}

func envReferencesSecrets(env []corev1.EnvVar, envFrom []corev1.EnvFromSource) bool {
	for _, e := range envFrom {
		if e.SecretRef != nil && e.SecretRef.Name != "" {
			return true
		}
	}
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != "" {
			return true
		}
	}
	return false
}

// volumeReferencesSecret tells whether a volume source names a secret.
func volumeReferencesSecret(src *corev1.VolumeSource) bool {
	switch {
	case src.Secret != nil:
		return src.Secret.SecretName != ""
	case src.AzureFile != nil:
		return src.AzureFile.SecretName != ""
	case src.Projected != nil:
		for _, p := range src.Projected.Sources {
			if p.Secret != nil && p.Secret.Name != "" {
				return true
			}
		}
		return false
	case src.CephFS != nil:
		return src.CephFS.SecretRef != nil && src.CephFS.SecretRef.Name != ""
	case src.Cinder != nil:
		return src.Cinder.SecretRef != nil && src.Cinder.SecretRef.Name != ""
	case src.FlexVolume != nil:
		return src.FlexVolume.SecretRef != nil && src.FlexVolume.SecretRef.Name != ""
	case src.RBD != nil:
		return src.RBD.SecretRef != nil && src.RBD.SecretRef.Name != ""
	case src.ISCSI != nil:
		return src.ISCSI.SecretRef != nil && src.ISCSI.SecretRef.Name != ""
	case src.CSI != nil:
		return src.CSI.NodePublishSecretRef != nil && src.CSI.NodePublishSecretRef.Name != ""
	case src.StorageOS != nil:
		return src.StorageOS.SecretRef != nil && src.StorageOS.SecretRef.Name != ""
	case src.ScaleIO != nil:
		return src.ScaleIO.SecretRef != nil && src.ScaleIO.SecretRef.Name != ""
	}
	return false
}

// mountableSecrets returns the names of the secrets sa lists.
func mountableSecrets(sa *corev1.ServiceAccount) sets.Set[string] {
	allowed := sets.New[string]()
	for _, ref := range sa.Secrets {
		allowed.Insert(ref.Name)
	}
	return allowed
}

// checkPodSecretReferences rejects secret volumes, init and regular
// container env and envFrom secrets, and image pull secrets that sa does not
// list. Ephemeral containers are checked on their own subresource.
func checkPodSecretReferences(sa *corev1.ServiceAccount, pod *corev1.Pod) error {
	allowed := mountableSecrets(sa)
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil && !allowed.Has(v.Secret.SecretName) {
			return fmt.Errorf("volume with secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", v.Secret.SecretName, sa.Name)
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if err := checkContainerSecretReferences(sa.Name, allowed, "init container", c.Name, c.Env, c.EnvFrom); err != nil {
			return err
		}
	}
	for _, c := range pod.Spec.Containers {
		if err := checkContainerSecretReferences(sa.Name, allowed, "container", c.Name, c.Env, c.EnvFrom); err != nil {
			return err
		}
	}

	pullSecrets := sets.New[string]()
	for _, ref := range sa.ImagePullSecrets {
		pullSecrets.Insert(ref.Name)
	}
	for i, ref := range pod.Spec.ImagePullSecrets {
		if !pullSecrets.Has(ref.Name) {
			return fmt.Errorf("imagePullSecrets[%d].name=\"%s\" is not allowed because service account %s does not reference that imagePullSecret", i, ref.Name, sa.Name)
		}
	}
	return nil
}

// checkContainerSecretReferences rejects env and envFrom secrets of one
// container (kind is "container", "init container" or "ephemeral
// container") that are not in allowed.
func checkContainerSecretReferences(saName string, allowed sets.Set[string], kind, name string, env []corev1.EnvVar, envFrom []corev1.EnvFromSource) error {
	for _, e := range env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		if secret := e.ValueFrom.SecretKeyRef.Name; !allowed.Has(secret) {
			return fmt.Errorf("%s %s with envVar %s referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", kind, name, e.Name, secret, saName)
		}
	}
	for _, e := range envFrom {
		if e.SecretRef != nil && !allowed.Has(e.SecretRef.Name) {
			return fmt.Errorf("%s %s with envFrom referencing secret.secretName=\"%s\" is not allowed because service account %s does not reference that secret", kind, name, e.SecretRef.Name, saName)
		}
	}
	return nil
}
