package core

import (
	"fmt"
	"net"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	fileModeMsg        = "must be a number between 0 and 0777 (octal), both inclusive"
	oneVolumeTypeMsg   = "may not specify more than 1 volume type"
	duplicatePathsMsg  = "conflicting duplicate paths"
	maxProjectedTokenS = 1 << 32
)

var (
	iscsiIQNPattern = regexp.MustCompile(`iqn\.\d{4}-\d{2}\.([[:alnum:]-.]+)(:[^,;*&$|\s]+)$`)
	iscsiEUIPattern = regexp.MustCompile(`^eui.[[:alnum:]]{16}$`)
	iscsiNAAPattern = regexp.MustCompile(`^naa.[[:alnum:]]{32}$`)

	supportedHostPathTypes = sets.New(corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
		corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)
	supportedAzureCachingModes = sets.New(corev1.AzureDataDiskCachingNone, corev1.AzureDataDiskCachingReadOnly, corev1.AzureDataDiskCachingReadWrite)
	supportedAzureDiskKinds    = sets.New(corev1.AzureSharedBlobDisk, corev1.AzureDedicatedBlobDisk, corev1.AzureManagedDisk)
	supportedPodCertKeyTypes   = []string{"RSA3072", "RSA4096", "ECDSAP256", "ECDSAP384", "ECDSAP521", "ED25519"}
	supportedClaimAccessModes  = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)
	supportedClaimVolumeModes  = sets.New(corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)
	volumeFileFieldPaths       = sets.New("metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")
)

// validateVolumes validates a pod spec's volumes and returns the valid ones
// by name, for the containers' mounts to refer to. podMeta, when it names
// the pod, lets the names of ephemeral volumes' claims be checked.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, opts *podOptions, fldPath *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	createdClaims := sets.New[string]()
	if podMeta != nil && podMeta.Name != "" {
		for _, v := range volumes {
			if v.Ephemeral != nil {
				createdClaims.Insert(podMeta.Name + "-" + v.Name)
			}
		}
	}
	valid := make(map[string]corev1.VolumeSource, len(volumes))
	for i := range volumes {
		v := &volumes[i]
		p := fldPath.Index(i)
		verrs := validateVolumeSource(&v.VolumeSource, v.Name, podMeta, opts, p)
		if v.Name == "" {
			verrs = append(verrs, field.Required(p.Child("name"), ""))
		} else {
			verrs = append(verrs, ValidateDNS1123Label(v.Name, p.Child("name"))...)
		}
		if names.Has(v.Name) {
			verrs = append(verrs, field.Duplicate(p.Child("name"), v.Name))
		}
		if len(verrs) == 0 {
			names.Insert(v.Name)
			valid[v.Name] = v.VolumeSource
		}
		errs = append(errs, verrs...)
		if v.PersistentVolumeClaim != nil && createdClaims.Has(v.PersistentVolumeClaim.ClaimName) {
			errs = append(errs, field.Invalid(p.Child("persistentVolumeClaim", "claimName"), v.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return valid, errs
}

// volumeSourceCheck is one kind of volume source: whether it is set, the
// name of its field (upstream reports a few sources' errors under other
// names: errPath), and its checks.
type volumeSourceCheck struct {
	set     bool
	name    string
	errPath string
	check   func(*field.Path) field.ErrorList
}

// validateVolumeSource validates that a volume names exactly one source, and
// that source, in upstream's order.
func validateVolumeSource(src *corev1.VolumeSource, volName string, podMeta *metav1.ObjectMeta, opts *podOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	sources := []volumeSourceCheck{
		{src.EmptyDir != nil, "emptyDir", "", func(fp *field.Path) field.ErrorList {
			if l := src.EmptyDir.SizeLimit; l != nil && l.Cmp(resource.Quantity{}) < 0 {
				return field.ErrorList{field.Forbidden(fp.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
			}
			return nil
		}},
		{src.HostPath != nil, "hostPath", "", func(fp *field.Path) field.ErrorList { return validateHostPath(src.HostPath, fp) }},
		{src.GitRepo != nil, "gitRepo", "", func(fp *field.Path) field.ErrorList {
			var errs field.ErrorList
			if src.GitRepo.Repository == "" {
				errs = append(errs, field.Required(fp.Child("repository"), ""))
			}
			return append(errs, validateLocalDescendingPath(src.GitRepo.Directory, fp.Child("directory"))...)
		}},
		{src.GCEPersistentDisk != nil, "gcePersistentDisk", "persistentDisk", func(fp *field.Path) field.ErrorList {
			return validateDisk(src.GCEPersistentDisk.PDName, "pdName", src.GCEPersistentDisk.Partition, fp)
		}},
		{src.AWSElasticBlockStore != nil, "awsElasticBlockStore", "", func(fp *field.Path) field.ErrorList {
			return validateDisk(src.AWSElasticBlockStore.VolumeID, "volumeID", src.AWSElasticBlockStore.Partition, fp)
		}},
		{src.Secret != nil, "secret", "", func(fp *field.Path) field.ErrorList {
			return validateKeyedVolume(src.Secret.SecretName, "secretName", src.Secret.DefaultMode, src.Secret.Items, fp)
		}},
		{src.NFS != nil, "nfs", "", func(fp *field.Path) field.ErrorList { return validateNFS(src.NFS, fp) }},
		{src.ISCSI != nil, "iscsi", "", func(fp *field.Path) field.ErrorList { return validateISCSI(src.ISCSI, fp) }},
		{src.Glusterfs != nil, "glusterfs", "", func(fp *field.Path) field.ErrorList {
			return requireAll(fp, "endpoints", src.Glusterfs.EndpointsName, "path", src.Glusterfs.Path)
		}},
		{src.Flocker != nil, "flocker", "", func(fp *field.Path) field.ErrorList { return validateFlocker(src.Flocker, fp) }},
		{src.PersistentVolumeClaim != nil, "persistentVolumeClaim", "", func(fp *field.Path) field.ErrorList {
			return requireAll(fp, "claimName", src.PersistentVolumeClaim.ClaimName)
		}},
		{src.RBD != nil, "rbd", "", func(fp *field.Path) field.ErrorList {
			var errs field.ErrorList
			if len(src.RBD.CephMonitors) == 0 {
				errs = append(errs, field.Required(fp.Child("monitors"), ""))
			}
			return append(errs, requireAll(fp, "image", src.RBD.RBDImage)...)
		}},
		{src.Cinder != nil, "cinder", "", func(fp *field.Path) field.ErrorList {
			errs := requireAll(fp, "volumeID", src.Cinder.VolumeID)
			if src.Cinder.SecretRef != nil && src.Cinder.SecretRef.Name == "" {
				errs = append(errs, field.Required(fp.Child("secretRef", "name"), ""))
			}
			return errs
		}},
		{src.CephFS != nil, "cephFS", "cephfs", func(fp *field.Path) field.ErrorList {
			if len(src.CephFS.Monitors) == 0 {
				return field.ErrorList{field.Required(fp.Child("monitors"), "")}
			}
			return nil
		}},
		{src.Quobyte != nil, "quobyte", "", func(fp *field.Path) field.ErrorList { return validateQuobyte(src.Quobyte, fp) }},
		// Upstream misspells this one's path.
		{src.DownwardAPI != nil, "downwarAPI", "downwardAPI", func(fp *field.Path) field.ErrorList {
			errs := validateFileMode(src.DownwardAPI.DefaultMode, fp.Child("defaultMode"))
			for i := range src.DownwardAPI.Items {
				errs = append(errs, validateDownwardAPIFile(&src.DownwardAPI.Items[i], fp)...)
			}
			return errs
		}},
		{src.FC != nil, "fc", "", func(fp *field.Path) field.ErrorList { return validateFC(src.FC, fp) }},
		{src.FlexVolume != nil, "flexVolume", "", func(fp *field.Path) field.ErrorList { return validateFlex(src.FlexVolume, fp) }},
		{src.ConfigMap != nil, "configMap", "", func(fp *field.Path) field.ErrorList {
			return validateKeyedVolume(src.ConfigMap.Name, "name", src.ConfigMap.DefaultMode, src.ConfigMap.Items, fp)
		}},
		{src.AzureFile != nil, "azureFile", "", func(fp *field.Path) field.ErrorList {
			return requireAll(fp, "secretName", src.AzureFile.SecretName, "shareName", src.AzureFile.ShareName)
		}},
		{src.VsphereVolume != nil, "vsphereVolume", "", func(fp *field.Path) field.ErrorList {
			return requireAll(fp, "volumePath", src.VsphereVolume.VolumePath)
		}},
		{src.PhotonPersistentDisk != nil, "photonPersistentDisk", "", func(fp *field.Path) field.ErrorList {
			return requireAll(fp, "pdID", src.PhotonPersistentDisk.PdID)
		}},
		{src.PortworxVolume != nil, "portworxVolume", "", func(fp *field.Path) field.ErrorList {
			return requireAll(fp, "volumeID", src.PortworxVolume.VolumeID)
		}},
		{src.AzureDisk != nil, "azureDisk", "", func(fp *field.Path) field.ErrorList { return validateAzureDisk(src.AzureDisk, fp) }},
		{src.StorageOS != nil, "storageos", "", func(fp *field.Path) field.ErrorList { return validateStorageOS(src.StorageOS, fp) }},
		{src.Projected != nil, "projected", "", func(fp *field.Path) field.ErrorList { return validateProjected(src.Projected, opts, fp) }},
		{src.ScaleIO != nil, "scaleIO", "", func(fp *field.Path) field.ErrorList {
			return requireAll(fp, "gateway", src.ScaleIO.Gateway, "system", src.ScaleIO.System, "volumeName", src.ScaleIO.VolumeName)
		}},
		{src.CSI != nil, "csi", "", func(fp *field.Path) field.ErrorList { return validateCSIVolume(src.CSI, fp) }},
		{src.Ephemeral != nil, "ephemeral", "", func(fp *field.Path) field.ErrorList {
			errs := validateEphemeralVolume(src.Ephemeral, fp)
			// The claim is named <pod>-<volume>; without either name the
			// problem is reported elsewhere.
			if podMeta != nil && podMeta.Name != "" && volName != "" {
				claim := podMeta.Name + "-" + volName
				for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(claim, false) {
					errs = append(errs, field.Invalid(fp.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", claim, msg)))
				}
			}
			return errs
		}},
		{src.Image != nil, "image", "", func(fp *field.Path) field.ErrorList {
			var errs field.ErrorList
			if opts.resourceIsPod && src.Image.Reference == "" {
				errs = append(errs, field.Required(fp.Child("reference"), ""))
			}
			return append(errs, validatePullPolicy(src.Image.PullPolicy, fp.Child("pullPolicy"))...)
		}},
	}
	count := 0
	for _, s := range sources {
		if !s.set {
			continue
		}
		if count > 0 {
			errs = append(errs, field.Forbidden(p.Child(s.name), oneVolumeTypeMsg))
			continue
		}
		count++
		errPath := s.errPath
		if errPath == "" {
			errPath = s.name
		}
		errs = append(errs, s.check(p.Child(errPath))...)
	}
	// This rule holds even when iscsi is not the volume's one source.
	if src.ISCSI != nil && src.ISCSI.InitiatorName != nil && len(volName+":"+src.ISCSI.TargetPortal) > 64 {
		errs = append(errs, field.Invalid(p.Child("name"), volName, "Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified."))
	}
	if count == 0 {
		errs = append(errs, field.Required(p, "must specify a volume type"))
	}
	return errs
}

// requireAll reports Required for each (name, value) pair whose value is
// empty, at fp.Child(name).
func requireAll(fp *field.Path, pairs ...string) field.ErrorList {
	var errs field.ErrorList
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			errs = append(errs, field.Required(fp.Child(pairs[i]), ""))
		}
	}
	return errs
}

func validateHostPath(h *corev1.HostPathVolumeSource, fp *field.Path) field.ErrorList {
	if h.Path == "" {
		return field.ErrorList{field.Required(fp.Child("path"), "")}
	}
	errs := validatePathNoBacksteps(h.Path, fp.Child("path"))
	if h.Type != nil && !supportedHostPathTypes.Has(*h.Type) {
		errs = append(errs, field.NotSupported(fp.Child("type"), h.Type, sets.List(supportedHostPathTypes)))
	}
	return errs
}

func validateDisk(id, idName string, partition int32, fp *field.Path) field.ErrorList {
	errs := requireAll(fp, idName, id)
	if partition < 0 || partition > 255 {
		errs = append(errs, field.Invalid(fp.Child("partition"), partition, validation.InclusiveRangeError(1, 255)))
	}
	return errs
}

// validateKeyedVolume validates a secret or configMap volume.
func validateKeyedVolume(name, nameField string, mode *int32, items []corev1.KeyToPath, fp *field.Path) field.ErrorList {
	errs := requireAll(fp, nameField, name)
	errs = append(errs, validateFileMode(mode, fp.Child("defaultMode"))...)
	for i := range items {
		errs = append(errs, validateKeyToPath(&items[i], fp.Child("items").Index(i))...)
	}
	return errs
}

func validateFileMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(p, *mode, fileModeMsg)}
	}
	return nil
}

func validateKeyToPath(kp *corev1.KeyToPath, p *field.Path) field.ErrorList {
	errs := requireAll(p, "key", kp.Key, "path", kp.Path)
	errs = append(errs, ValidateLocalNonReservedPath(kp.Path, p.Child("path"))...)
	return append(errs, validateFileMode(kp.Mode, p.Child("mode"))...)
}

func validateNFS(nfs *corev1.NFSVolumeSource, fp *field.Path) field.ErrorList {
	errs := requireAll(fp, "server", nfs.Server, "path", nfs.Path)
	if !path.IsAbs(nfs.Path) {
		errs = append(errs, field.Invalid(fp.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return errs
}

// validateISCSIName validates an IQN or initiator name by its prefix.
func validateISCSIName(name string, p *field.Path, errs field.ErrorList) field.ErrorList {
	switch {
	case !strings.HasPrefix(name, "iqn") && !strings.HasPrefix(name, "eui") && !strings.HasPrefix(name, "naa"):
		return append(errs, field.Invalid(p, name, "must be valid format starting with iqn, eui, or naa"))
	case strings.HasPrefix(name, "iqn") && !iscsiIQNPattern.MatchString(name),
		strings.HasPrefix(name, "eui") && !iscsiEUIPattern.MatchString(name),
		strings.HasPrefix(name, "naa") && !iscsiNAAPattern.MatchString(name):
		return append(errs, field.Invalid(p, name, "must be valid format"))
	}
	return errs
}

func validateISCSI(iscsi *corev1.ISCSIVolumeSource, fp *field.Path) field.ErrorList {
	errs := requireAll(fp, "targetPortal", iscsi.TargetPortal)
	if iscsi.IQN == "" {
		errs = append(errs, field.Required(fp.Child("iqn"), ""))
	} else {
		errs = validateISCSIName(iscsi.IQN, fp.Child("iqn"), errs)
	}
	if iscsi.Lun < 0 || iscsi.Lun > 255 {
		errs = append(errs, field.Invalid(fp.Child("lun"), iscsi.Lun, validation.InclusiveRangeError(0, 255)))
	}
	if (iscsi.DiscoveryCHAPAuth || iscsi.SessionCHAPAuth) && iscsi.SecretRef == nil {
		errs = append(errs, field.Required(fp.Child("secretRef"), ""))
	}
	if iscsi.InitiatorName != nil {
		errs = validateISCSIName(*iscsi.InitiatorName, fp.Child("initiatorname"), errs)
	}
	return errs
}

func validateFlocker(f *corev1.FlockerVolumeSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.DatasetName == "" && f.DatasetUUID == "" {
		errs = append(errs, field.Required(fp, "one of datasetName and datasetUUID is required"))
	}
	if f.DatasetName != "" && f.DatasetUUID != "" {
		errs = append(errs, field.Invalid(fp, "resource", "datasetName and datasetUUID can not be specified simultaneously"))
	}
	if strings.Contains(f.DatasetName, "/") {
		errs = append(errs, field.Invalid(fp.Child("datasetName"), f.DatasetName, "must not contain '/'"))
	}
	return errs
}

func validateQuobyte(q *corev1.QuobyteVolumeSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	const registryMsg = "must be a host:port pair or multiple pairs separated by commas"
	switch {
	case q.Registry == "":
		errs = append(errs, field.Required(fp.Child("registry"), registryMsg))
	case len(q.Tenant) >= 65:
		errs = append(errs, field.Required(fp.Child("tenant"), "must be a UUID and may not exceed a length of 64 characters"))
	default:
		for _, pair := range strings.Split(q.Registry, ",") {
			if _, _, err := net.SplitHostPort(pair); err != nil {
				errs = append(errs, field.Invalid(fp.Child("registry"), q.Registry, registryMsg))
			}
		}
	}
	return append(errs, requireAll(fp, "volume", q.Volume)...)
}

func validateFC(fc *corev1.FCVolumeSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(fc.TargetWWNs) == 0 && len(fc.WWIDs) == 0 {
		errs = append(errs, field.Required(fp.Child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
	}
	if len(fc.TargetWWNs) != 0 && len(fc.WWIDs) != 0 {
		errs = append(errs, field.Invalid(fp.Child("targetWWNs"), fc.TargetWWNs, "targetWWNs and wwids can not be specified simultaneously"))
	}
	if len(fc.TargetWWNs) != 0 {
		if fc.Lun == nil {
			errs = append(errs, field.Required(fp.Child("lun"), "lun is required if targetWWNs is specified"))
		} else if *fc.Lun < 0 || *fc.Lun > 255 {
			errs = append(errs, field.Invalid(fp.Child("lun"), fc.Lun, validation.InclusiveRangeError(0, 255)))
		}
	}
	return errs
}

func validateFlex(fv *corev1.FlexVolumeSource, fp *field.Path) field.ErrorList {
	errs := requireAll(fp, "driver", fv.Driver)
	for k := range fv.Options {
		domain, _, _ := strings.Cut(k, "/")
		normalized := "." + strings.ToLower(domain)
		if strings.HasSuffix(normalized, ".kubernetes.io") || strings.HasSuffix(normalized, ".k8s.io") {
			errs = append(errs, field.Invalid(fp.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
		}
	}
	return errs
}

func validateAzureDisk(a *corev1.AzureDiskVolumeSource, fp *field.Path) field.ErrorList {
	errs := requireAll(fp, "diskName", a.DiskName, "diskURI", a.DataDiskURI)
	if a.CachingMode != nil && !supportedAzureCachingModes.Has(*a.CachingMode) {
		errs = append(errs, field.NotSupported(fp.Child("cachingMode"), *a.CachingMode, sets.List(supportedAzureCachingModes)))
	}
	if a.Kind != nil {
		if !supportedAzureDiskKinds.Has(*a.Kind) {
			errs = append(errs, field.NotSupported(fp.Child("kind"), *a.Kind, sets.List(supportedAzureDiskKinds)))
		}
		if *a.Kind == corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "/subscriptions/") {
			errs = append(errs, field.NotSupported(fp.Child("diskURI"), a.DataDiskURI, []string{"/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}"}))
		}
		if *a.Kind != corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "https://") {
			errs = append(errs, field.NotSupported(fp.Child("diskURI"), a.DataDiskURI, []string{"https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd"}))
		}
	}
	return errs
}

func validateStorageOS(s *corev1.StorageOSVolumeSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.VolumeName == "" {
		errs = append(errs, field.Required(fp.Child("volumeName"), ""))
	} else {
		errs = append(errs, ValidateDNS1123Label(s.VolumeName, fp.Child("volumeName"))...)
	}
	if s.VolumeNamespace != "" {
		errs = append(errs, ValidateDNS1123Label(s.VolumeNamespace, fp.Child("volumeNamespace"))...)
	}
	if s.SecretRef != nil && s.SecretRef.Name == "" {
		errs = append(errs, field.Required(fp.Child("secretRef", "name"), ""))
	}
	return errs
}

// ValidateCSIDriverName validates the name of a CSI driver: set, at most 63
// characters, a DNS subdomain ignoring case.
func ValidateCSIDriverName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

func validateCSIVolume(csi *corev1.CSIVolumeSource, fp *field.Path) field.ErrorList {
	errs := ValidateCSIDriverName(csi.Driver, fp.Child("driver"))
	if ref := csi.NodePublishSecretRef; ref != nil {
		if ref.Name == "" {
			errs = append(errs, field.Required(fp.Child("nodePublishSecretRef", "name"), ""))
		} else {
			// Upstream reports a bad name at csi.name.
			errs = append(errs, validateObjectName(ref.Name, fp.Child("name"))...)
		}
	}
	return errs
}

func validateDownwardAPIFile(f *corev1.DownwardAPIVolumeFile, fp *field.Path) field.ErrorList {
	errs := requireAll(fp, "path", f.Path)
	errs = append(errs, ValidateLocalNonReservedPath(f.Path, fp.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(f.FieldRef, volumeFileFieldPaths, fp.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fp, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(f.ResourceFieldRef, true, fp.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fp, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(f.Mode, fp.Child("mode"))...)
}

// validateProjected validates a projected volume: its mode and each source,
// one kind per source, with file paths unique across sources.
func validateProjected(proj *corev1.ProjectedVolumeSource, opts *podOptions, fp *field.Path) field.ErrorList {
	errs := validateFileMode(proj.DefaultMode, fp.Child("defaultMode"))
	paths := sets.New[string]()
	// claim records a file path; upstream reports duplicates at the volume,
	// with the value it names.
	claim := func(p string, value any) {
		if paths.Has(p) {
			errs = append(errs, field.Invalid(fp, value, duplicatePathsMsg))
		}
		paths.Insert(p)
	}
	for i, s := range proj.Sources {
		sp := fp.Child("sources").Index(i)
		kinds := 0
		if s.Secret != nil {
			kinds++
			pp := sp.Child("secret")
			errs = append(errs, requireAll(pp, "name", s.Secret.Name)...)
			for j := range s.Secret.Items {
				errs = append(errs, validateKeyToPath(&s.Secret.Items[j], pp.Child("items").Index(j))...)
				if p := s.Secret.Items[j].Path; p != "" {
					claim(p, s.Secret.Name)
				}
			}
		}
		if s.ConfigMap != nil {
			kinds++
			pp := sp.Child("configMap")
			errs = append(errs, requireAll(pp, "name", s.ConfigMap.Name)...)
			for j := range s.ConfigMap.Items {
				errs = append(errs, validateKeyToPath(&s.ConfigMap.Items[j], pp.Child("items").Index(j))...)
				if p := s.ConfigMap.Items[j].Path; p != "" {
					claim(p, s.ConfigMap.Name)
				}
			}
		}
		if s.DownwardAPI != nil {
			kinds++
			for j := range s.DownwardAPI.Items {
				errs = append(errs, validateDownwardAPIFile(&s.DownwardAPI.Items[j], sp.Child("downwardAPI"))...)
				if p := s.DownwardAPI.Items[j].Path; p != "" {
					claim(p, p)
				}
			}
		}
		if t := s.ServiceAccountToken; t != nil {
			kinds++
			pp := sp.Child("serviceAccountToken")
			var seconds int64
			if t.ExpirationSeconds != nil {
				seconds = *t.ExpirationSeconds
			}
			if seconds < 10*60 {
				errs = append(errs, field.Invalid(pp.Child("expirationSeconds"), seconds, "may not specify a duration less than 10 minutes"))
			}
			if seconds > maxProjectedTokenS {
				errs = append(errs, field.Invalid(pp.Child("expirationSeconds"), seconds, "may not specify a duration larger than 2^32 seconds"))
			}
			// Upstream reports the path at the volume.
			if t.Path == "" {
				errs = append(errs, field.Required(fp.Child("path"), ""))
			} else if !opts.allowNonLocalProjectedTokenPath {
				errs = append(errs, ValidateLocalNonReservedPath(t.Path, fp.Child("path"))...)
			}
		}
		if b := s.ClusterTrustBundle; b != nil {
			kinds++
			errs = append(errs, validateClusterTrustBundleProjection(b, sp.Child("clusterTrustBundle"))...)
			claim(b.Path, b.Path)
		}
		if c := s.PodCertificate; c != nil {
			kinds++
			pp := sp.Child("podCertificate")
			errs = append(errs, validateSignerName(c.SignerName, pp.Child("signerName"))...)
			errs = append(errs, validateUserAnnotations(c.UserAnnotations, pp.Child("userAnnotations"))...)
			if !slicesContains(supportedPodCertKeyTypes, c.KeyType) {
				errs = append(errs, field.NotSupported(pp.Child("keyType"), c.KeyType, supportedPodCertKeyTypes))
			}
			if m := c.MaxExpirationSeconds; m != nil {
				limit := int32(91 * 24 * 3600)
				if strings.HasPrefix(c.SignerName, "kubernetes.io/") {
					limit = 24 * 3600
				}
				if *m < 3600 {
					errs = append(errs, field.Invalid(pp.Child("maxExpirationSeconds"), *m, "if provided, maxExpirationSeconds must be >= 3600"))
				}
				if *m > limit {
					errs = append(errs, field.Invalid(pp.Child("maxExpirationSeconds"), *m, fmt.Sprintf("if provided, maxExpirationSeconds must be <= %d", limit)))
				}
			}
			files := 0
			for _, f := range []struct{ name, path string }{
				{"credentialBundlePath", c.CredentialBundlePath}, {"keyPath", c.KeyPath}, {"certificateChainPath", c.CertificateChainPath},
			} {
				if f.path == "" {
					continue
				}
				files++
				errs = append(errs, ValidateLocalNonReservedPath(f.path, pp.Child(f.name))...)
				claim(f.path, f.path)
			}
			if files == 0 {
				errs = append(errs, field.Required(pp, "specify at least one of credentialBundlePath, keyPath, and certificateChainPath"))
			}
		}
		if kinds > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func slicesContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func validateClusterTrustBundleProjection(b *corev1.ClusterTrustBundleProjection, pp *field.Path) field.ErrorList {
	var errs field.ErrorList
	byName, bySigner := b.Name != nil, b.SignerName != nil
	switch {
	case byName && bySigner:
		errs = append(errs, field.Invalid(pp, b, "only one of name and signerName may be used"))
	case byName:
		if *b.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), "must be a valid object name"))
		}
		for _, msg := range clusterTrustBundleNameErrors(*b.Name) {
			errs = append(errs, field.Invalid(pp.Child("name"), *b.Name, fmt.Sprintf("not a valid clustertrustbundlename: %v", msg)))
		}
		if b.LabelSelector != nil {
			errs = append(errs, field.Invalid(pp.Child("labelSelector"), b.LabelSelector, "labelSelector must be unset if name is specified"))
		}
	case bySigner:
		if *b.SignerName == "" {
			errs = append(errs, field.Required(pp.Child("signerName"), "must be a valid signer name"))
		}
		errs = append(errs, validateSignerName(*b.SignerName, pp.Child("signerName"))...)
		errs = append(errs, ValidateLabelSelector(b.LabelSelector, pp.Child("labelSelector"))...)
	default:
		errs = append(errs, field.Required(pp, "either name or signerName must be specified"))
	}
	if b.Path == "" {
		errs = append(errs, field.Required(pp.Child("path"), ""))
	}
	return append(errs, ValidateLocalNonReservedPath(b.Path, pp.Child("path"))...)
}

// clusterTrustBundleNameErrors validates a ClusterTrustBundle name: a DNS
// subdomain once any signer prefix ("<domain>/<path>:") is rewritten, as
// upstream's certificates validation requires.
func clusterTrustBundleNameErrors(name string) []string {
	if signer, rest, ok := strings.Cut(name, ":"); ok {
		prefix := strings.ReplaceAll(signer, "/", ":") + ":"
		if !strings.HasPrefix(name, prefix) && strings.Contains(signer, "/") {
			return []string{fmt.Sprintf("ClusterTrustBundle for signerName %s must be named with prefix %s", signer, prefix)}
		}
		_ = rest
		name = strings.ReplaceAll(name, ":", ".")
	}
	return apimachineryvalidation.NameIsDNSSubdomain(name, false)
}

// validateSignerName validates a certificate signer name: "<domain>/<path>"
// with a DNS subdomain as domain, as upstream's certificates validation does.
func validateSignerName(name string, p *field.Path) field.ErrorList {
	domain, rest, ok := strings.Cut(name, "/")
	if !ok || strings.Contains(rest, "/") {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(domain) {
		errs = append(errs, field.Invalid(p, domain, msg))
	}
	if rest == "" {
		errs = append(errs, field.Invalid(p, name, "validating path: path may not be empty"))
	}
	return errs
}

// validateUserAnnotations validates annotations chosen by a user: domain
// prefixed keys, within the total size.
func validateUserAnnotations(annotations map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k := range annotations {
		errs = append(errs, validation.IsDomainPrefixedKey(p, strings.ToLower(k))...)
	}
	if err := apimachineryvalidation.ValidateAnnotationsSize(annotations); err != nil {
		errs = append(errs, field.TooLong(p, "", apimachineryvalidation.TotalAnnotationSizeLimitB))
	}
	return errs
}

// validateEphemeralVolume validates a generic ephemeral volume: a claim
// template whose metadata holds only labels and annotations, with a claim
// spec that asks for storage.
func validateEphemeralVolume(e *corev1.EphemeralVolumeSource, fp *field.Path) field.ErrorList {
	if e.VolumeClaimTemplate == nil {
		return field.ErrorList{field.Required(fp.Child("volumeClaimTemplate"), "")}
	}
	tp := fp.Child("volumeClaimTemplate")
	errs := ValidateTemplateObjectMeta(&e.VolumeClaimTemplate.ObjectMeta, tp.Child("metadata"))
	return append(errs, validateEphemeralClaimSpec(&e.VolumeClaimTemplate.Spec, tp.Child("spec"))...)
}

// ValidateTemplateObjectMeta validates the metadata of an embedded template
// that may only carry labels and annotations.
func ValidateTemplateObjectMeta(meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateAnnotations(meta.Annotations, fldPath.Child("annotations"))
	errs = append(errs, metav1validation.ValidateLabels(meta.Labels, fldPath.Child("labels"))...)
	return append(errs, forbidUnlistedFields(*meta, sets.New("Annotations", "Labels"), "cannot be set", fldPath)...)
}

// validateEphemeralClaimSpec validates the claim spec of an ephemeral
// volume with upstream's claim rules; data sources are not checked here.
func validateEphemeralClaimSpec(spec *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(p.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		errs = append(errs, ValidateLabelSelector(spec.Selector, p.Child("selector"))...)
	}
	oncePod, others := false, false
	for _, mode := range spec.AccessModes {
		switch {
		case !supportedClaimAccessModes.Has(mode):
			errs = append(errs, field.NotSupported(p.Child("accessModes"), mode, sets.List(supportedClaimAccessModes)))
		case mode == corev1.ReadWriteOncePod:
			oncePod = true
		default:
			others = true
		}
	}
	if oncePod && others {
		errs = append(errs, field.Forbidden(p.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}
	storagePath := p.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if perrs := ValidatePositiveQuantityValue(q, storagePath); len(perrs) > 0 {
		errs = append(errs, perrs...)
	} else {
		errs = append(errs, ValidateResourceQuantityValue(corev1.ResourceStorage, q, storagePath)...)
	}
	if c := spec.StorageClassName; c != nil && *c != "" {
		errs = append(errs, validateNameAt(*c, p.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedClaimVolumeModes.Has(*spec.VolumeMode) {
		errs = append(errs, field.NotSupported(p.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedClaimVolumeModes)))
	}
	if c := spec.VolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, validateNameAt(*c, p.Child("volumeAttributesClassName"))...)
	}
	return errs
}

// validateNameAt validates an object name (a DNS subdomain) at p.
func validateNameAt(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

// validateLocalDescendingPath validates a path that must stay below its
// base: relative, without "..".
func validateLocalDescendingPath(target string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(p, target, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(target, p)...)
}

func validatePathNoBacksteps(target string, p *field.Path) field.ErrorList {
	for _, part := range strings.Split(filepath.ToSlash(target), "/") {
		if part == ".." {
			// One error is enough, however many there are.
			return field.ErrorList{field.Invalid(p, target, "must not contain '..'")}
		}
	}
	return nil
}

// ValidateLocalNonReservedPath validates a file path inside a volume:
// relative, without "..", and not starting with "..".
func ValidateLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}
