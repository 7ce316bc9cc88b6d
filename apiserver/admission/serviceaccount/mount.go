package serviceaccount

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/utils/ptr"
)

const (
	// ServiceAccountVolumeName prefixes, followed by "-" and five random
	// characters, the name of the projected token volume added to pods.
	ServiceAccountVolumeName = "kube-api-access"

	// DefaultAPITokenMountPath is where containers get the token, the
	// cluster CA bundle and the namespace.
	DefaultAPITokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

	// TokenExpirationSeconds is the lifetime requested for projected tokens:
	// kube-apiserver's warn-only bound token expiration, an hour and seven
	// seconds, by which it recognises tokens of this volume.
	TokenExpirationSeconds int64 = 3607

	// rootCAConfigMapName is the config map publishing the cluster CA in
	// every namespace.
	rootCAConfigMapName = "kube-root-ca.crt"
)

// mountServiceAccountToken mounts the projected token volume read-only at
// DefaultAPITokenMountPath in every init and regular container not already
// mounting something there, adding the volume unless the pod has one.
// Ephemeral containers are left alone, as upstream does: they cannot exist
// on create, and are added later without mutation.
func mountServiceAccountToken(pod *corev1.Pod) {
	volumeName := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, ServiceAccountVolumeName+"-") {
			volumeName = v.Name
			break
		}
	}
	hasVolume := volumeName != ""
	if !hasVolume {
		volumeName = names.SimpleNameGenerator.GenerateName(ServiceAccountVolumeName + "-")
	}

	mount := corev1.VolumeMount{Name: volumeName, ReadOnly: true, MountPath: DefaultAPITokenMountPath}
	mounted := addMount(pod.Spec.InitContainers, mount)
	mounted = addMount(pod.Spec.Containers, mount) || mounted

	if mounted && !hasVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name:         volumeName,
			VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()},
		})
	}
}

// addMount appends mount to each container without a mount at its path and
// tells whether any container got it.
func addMount(containers []corev1.Container, mount corev1.VolumeMount) bool {
	added := false
	for i := range containers {
		if hasMountAt(containers[i].VolumeMounts, mount.MountPath) {
			continue
		}
		containers[i].VolumeMounts = append(containers[i].VolumeMounts, mount)
		added = true
	}
	return added
}

func hasMountAt(mounts []corev1.VolumeMount, path string) bool {
	for _, m := range mounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// TokenVolumeSource returns the projected volume source of the API token
// volume: a bound service account token at "token", the cluster CA at
// "ca.crt" and the pod's namespace at "namespace", mode 0644.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{
		// Set explicitly so the stored pod does not change when defaulted.
		DefaultMode: ptr.To(corev1.ProjectedVolumeSourceDefaultMode),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Path:              "token",
				ExpirationSeconds: ptr.To(TokenExpirationSeconds),
			}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: rootCAConfigMapName},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{
				Items: []corev1.DownwardAPIVolumeFile{{
					Path:     "namespace",
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
				}},
			}},
		},
	}
}
