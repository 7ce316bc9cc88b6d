package core

import (
	"net"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The sources a PersistentVolume may name. Pod volumes are validated by
// their own code in this package; these are the PersistentVolume variants,
// kept apart so that each can follow upstream's PV paths and messages.

const pvOneSourceMsg = "may not specify more than 1 volume type"

var (
	pvIQNPattern = regexp.MustCompile(`iqn\.\d{4}-\d{2}\.([[:alnum:]-.]+)(:[^,;*&$|\s]+)$`)
	pvEUIPattern = regexp.MustCompile(`^eui.[[:alnum:]]{16}$`)
	pvNAAPattern = regexp.MustCompile(`^naa.[[:alnum:]]{32}$`)

	pvHostPathTypes = sets.New(corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
		corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)
	pvAzureCachingModes = sets.New(corev1.AzureDataDiskCachingNone, corev1.AzureDataDiskCachingReadOnly, corev1.AzureDataDiskCachingReadWrite)
	pvAzureDiskKinds    = sets.New(corev1.AzureSharedBlobDisk, corev1.AzureDedicatedBlobDisk, corev1.AzureManagedDisk)
)

// pvSource is one source a PersistentVolume may name: its field name, and
// the check to run when it is the first set.
type pvSource struct {
	name     string
	set      bool
	validate func() field.ErrorList
}

// validatePVSources validates the volume source of a PersistentVolume
// spec: exactly one, valid. pvName is part of the iSCSI initiator's
// identity. It reports whether a local volume was given, which requires
// node affinity.
func validatePVSources(src *corev1.PersistentVolumeSource, pvName string, fldPath *field.Path) (local bool, errs field.ErrorList) {
	sources := []pvSource{
		{"hostPath", src.HostPath != nil, func() field.ErrorList { return validatePVHostPath(src.HostPath, fldPath.Child("hostPath")) }},
		// Upstream reports GCE disk errors under "persistentDisk".
		{"gcePersistentDisk", src.GCEPersistentDisk != nil, func() field.ErrorList {
			d := src.GCEPersistentDisk
			return validatePVDisk("pdName", d.PDName, d.Partition, fldPath.Child("persistentDisk"))
		}},
		{"awsElasticBlockStore", src.AWSElasticBlockStore != nil, func() field.ErrorList {
			d := src.AWSElasticBlockStore
			return validatePVDisk("volumeID", d.VolumeID, d.Partition, fldPath.Child("awsElasticBlockStore"))
		}},
		{"glusterfs", src.Glusterfs != nil, func() field.ErrorList { return validatePVGlusterfs(src.Glusterfs, fldPath.Child("glusterfs")) }},
		{"flocker", src.Flocker != nil, func() field.ErrorList { return validatePVFlocker(src.Flocker, fldPath.Child("flocker")) }},
		{"nfs", src.NFS != nil, func() field.ErrorList { return validatePVNFS(src.NFS, fldPath.Child("nfs")) }},
		{"rbd", src.RBD != nil, func() field.ErrorList {
			return pvRequired(fldPath.Child("rbd"), "monitors", len(src.RBD.CephMonitors) > 0, "image", src.RBD.RBDImage != "")
		}},
		{"quobyte", src.Quobyte != nil, func() field.ErrorList { return validatePVQuobyte(src.Quobyte, fldPath.Child("quobyte")) }},
		// Upstream reports CephFS errors under "cephfs" and conflicts under "cephFS".
		{"cephFS", src.CephFS != nil, func() field.ErrorList {
			return pvRequired(fldPath.Child("cephfs"), "monitors", len(src.CephFS.Monitors) > 0)
		}},
		{"iscsi", src.ISCSI != nil, func() field.ErrorList { return validatePVISCSI(src.ISCSI, pvName, fldPath.Child("iscsi")) }},
		{"cinder", src.Cinder != nil, func() field.ErrorList { return validatePVCinder(src.Cinder, fldPath.Child("cinder")) }},
		{"fc", src.FC != nil, func() field.ErrorList { return validatePVFC(src.FC, fldPath.Child("fc")) }},
		{"flexVolume", src.FlexVolume != nil, func() field.ErrorList { return validatePVFlex(src.FlexVolume, fldPath.Child("flexVolume")) }},
		{"azureFile", src.AzureFile != nil, func() field.ErrorList { return validatePVAzureFile(src.AzureFile, fldPath.Child("azureFile")) }},
		{"vsphereVolume", src.VsphereVolume != nil, func() field.ErrorList {
			return pvRequired(fldPath.Child("vsphereVolume"), "volumePath", src.VsphereVolume.VolumePath != "")
		}},
		{"photonPersistentDisk", src.PhotonPersistentDisk != nil, func() field.ErrorList {
			return pvRequired(fldPath.Child("photonPersistentDisk"), "pdID", src.PhotonPersistentDisk.PdID != "")
		}},
		{"portworxVolume", src.PortworxVolume != nil, func() field.ErrorList {
			return pvRequired(fldPath.Child("portworxVolume"), "volumeID", src.PortworxVolume.VolumeID != "")
		}},
		{"azureDisk", src.AzureDisk != nil, func() field.ErrorList { return validatePVAzureDisk(src.AzureDisk, fldPath.Child("azureDisk")) }},
		{"scaleIO", src.ScaleIO != nil, func() field.ErrorList {
			s := src.ScaleIO
			return pvRequired(fldPath.Child("scaleIO"), "gateway", s.Gateway != "", "system", s.System != "", "volumeName", s.VolumeName != "")
		}},
		{"local", src.Local != nil, func() field.ErrorList { return validatePVLocal(src.Local, fldPath.Child("local")) }},
		{"storageos", src.StorageOS != nil, func() field.ErrorList { return validatePVStorageOS(src.StorageOS, fldPath.Child("storageos")) }},
		{"csi", src.CSI != nil, func() field.ErrorList { return validatePVCSI(src.CSI, fldPath.Child("csi")) }},
	}
	count := 0
	for _, s := range sources {
		if !s.set {
			continue
		}
		// Upstream never counts flexVolume as a second source: it is
		// validated whatever came before it.
		if count > 0 && s.name != "flexVolume" {
			errs = append(errs, field.Forbidden(fldPath.Child(s.name), pvOneSourceMsg))
			continue
		}
		count++
		local = local || s.name == "local"
		errs = append(errs, s.validate()...)
	}
	if count == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	}
	return local, errs
}

// pvRequired reports Required at fp.Child(name) for each (name, present)
// pair that is not present.
func pvRequired(fp *field.Path, pairs ...any) field.ErrorList {
	var errs field.ErrorList
	for i := 0; i+1 < len(pairs); i += 2 {
		if !pairs[i+1].(bool) {
			errs = append(errs, field.Required(fp.Child(pairs[i].(string)), ""))
		}
	}
	return errs
}

func validatePVHostPath(h *corev1.HostPathVolumeSource, fp *field.Path) field.ErrorList {
	if h.Path == "" {
		return field.ErrorList{field.Required(fp.Child("path"), "")}
	}
	errs := pvPathNoBacksteps(h.Path, fp.Child("path"))
	if h.Type != nil && !pvHostPathTypes.Has(*h.Type) {
		errs = append(errs, field.NotSupported(fp.Child("type"), h.Type, sets.List(pvHostPathTypes)))
	}
	return errs
}

func validatePVLocal(l *corev1.LocalVolumeSource, fp *field.Path) field.ErrorList {
	if l.Path == "" {
		return field.ErrorList{field.Required(fp.Child("path"), "")}
	}
	return pvPathNoBacksteps(l.Path, fp.Child("path"))
}

// pvPathNoBacksteps rejects a path with a ".." element, once however many.
func pvPathNoBacksteps(target string, fp *field.Path) field.ErrorList {
	for _, part := range strings.Split(filepath.ToSlash(target), "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fp, target, "must not contain '..'")}
		}
	}
	return nil
}

// validatePVDisk validates a cloud disk: its id field and a partition in
// 0..255 (upstream's message says 1).
func validatePVDisk(idName, id string, partition int32, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, idName, id != "")
	if partition < 0 || partition > 255 {
		errs = append(errs, field.Invalid(fp.Child("partition"), partition, validation.InclusiveRangeError(1, 255)))
	}
	return errs
}

func validatePVGlusterfs(g *corev1.GlusterfsPersistentVolumeSource, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, "endpoints", g.EndpointsName != "", "path", g.Path != "")
	if ns := g.EndpointsNamespace; ns != nil {
		p := fp.Child("endpointsNamespace")
		if *ns == "" {
			errs = append(errs, field.Invalid(p, *ns, "if the endpointnamespace is set, it must be a valid namespace name"))
		} else {
			errs = append(errs, nameErrs(*ns, apimachineryvalidation.ValidateNamespaceName, p)...)
		}
	}
	return errs
}

func validatePVFlocker(f *corev1.FlockerVolumeSource, fp *field.Path) field.ErrorList {
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

func validatePVNFS(nfs *corev1.NFSVolumeSource, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, "server", nfs.Server != "", "path", nfs.Path != "")
	if !path.IsAbs(nfs.Path) {
		errs = append(errs, field.Invalid(fp.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return errs
}

func validatePVQuobyte(q *corev1.QuobyteVolumeSource, fp *field.Path) field.ErrorList {
	const registryMsg = "must be a host:port pair or multiple pairs separated by commas"
	var errs field.ErrorList
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
	return append(errs, pvRequired(fp, "volume", q.Volume != "")...)
}

func validatePVISCSI(iscsi *corev1.ISCSIPersistentVolumeSource, pvName string, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, "targetPortal", iscsi.TargetPortal != "")
	if iscsi.InitiatorName != nil && len(pvName+":"+iscsi.TargetPortal) > 64 {
		errs = append(errs, field.Invalid(fp.Child("targetportal"), iscsi.TargetPortal,
			"Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified."))
	}
	if iscsi.IQN == "" {
		errs = append(errs, field.Required(fp.Child("iqn"), ""))
	} else {
		errs = append(errs, pvISCSINameErrs(iscsi.IQN, fp.Child("iqn"))...)
	}
	if iscsi.Lun < 0 || iscsi.Lun > 255 {
		errs = append(errs, field.Invalid(fp.Child("lun"), iscsi.Lun, validation.InclusiveRangeError(0, 255)))
	}
	if (iscsi.DiscoveryCHAPAuth || iscsi.SessionCHAPAuth) && iscsi.SecretRef == nil {
		errs = append(errs, field.Required(fp.Child("secretRef"), ""))
	}
	if iscsi.SecretRef != nil && iscsi.SecretRef.Name == "" {
		errs = append(errs, field.Required(fp.Child("secretRef", "name"), ""))
	}
	if iscsi.InitiatorName != nil {
		errs = append(errs, pvISCSINameErrs(*iscsi.InitiatorName, fp.Child("initiatorname"))...)
	}
	return errs
}

// pvISCSINameErrs validates an IQN or initiator name of an iSCSI PV, which
// upstream words "must be valid format" in every case.
func pvISCSINameErrs(name string, p *field.Path) field.ErrorList {
	switch {
	case !strings.HasPrefix(name, "iqn") && !strings.HasPrefix(name, "eui") && !strings.HasPrefix(name, "naa"),
		strings.HasPrefix(name, "iqn") && !pvIQNPattern.MatchString(name),
		strings.HasPrefix(name, "eui") && !pvEUIPattern.MatchString(name),
		strings.HasPrefix(name, "naa") && !pvNAAPattern.MatchString(name):
		return field.ErrorList{field.Invalid(p, name, "must be valid format")}
	}
	return nil
}

func validatePVCinder(c *corev1.CinderPersistentVolumeSource, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, "volumeID", c.VolumeID != "")
	if c.SecretRef != nil {
		errs = append(errs, pvRequired(fp.Child("secretRef"), "name", c.SecretRef.Name != "", "namespace", c.SecretRef.Namespace != "")...)
	}
	return errs
}

func validatePVFC(fc *corev1.FCVolumeSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(fc.TargetWWNs) == 0 && len(fc.WWIDs) == 0 {
		errs = append(errs, field.Required(fp.Child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
	}
	if len(fc.TargetWWNs) != 0 && len(fc.WWIDs) != 0 {
		errs = append(errs, field.Invalid(fp.Child("targetWWNs"), fc.TargetWWNs, "targetWWNs and wwids can not be specified simultaneously"))
	}
	if len(fc.TargetWWNs) != 0 {
		switch {
		case fc.Lun == nil:
			errs = append(errs, field.Required(fp.Child("lun"), "lun is required if targetWWNs is specified"))
		case *fc.Lun < 0 || *fc.Lun > 255:
			errs = append(errs, field.Invalid(fp.Child("lun"), fc.Lun, validation.InclusiveRangeError(0, 255)))
		}
	}
	return errs
}

// validatePVFlex requires a driver and keeps options out of the
// kubernetes.io and k8s.io namespaces.
func validatePVFlex(fv *corev1.FlexPersistentVolumeSource, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, "driver", fv.Driver != "")
	for k := range fv.Options {
		namespace := k
		if prefix, _, ok := strings.Cut(k, "/"); ok {
			namespace = prefix
		}
		normalized := "." + strings.ToLower(namespace)
		if strings.HasSuffix(normalized, ".kubernetes.io") || strings.HasSuffix(normalized, ".k8s.io") {
			errs = append(errs, field.Invalid(fp.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
		}
	}
	return errs
}

func validatePVAzureFile(a *corev1.AzureFilePersistentVolumeSource, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, "secretName", a.SecretName != "", "shareName", a.ShareName != "")
	if a.SecretNamespace != nil && *a.SecretNamespace == "" {
		errs = append(errs, field.Required(fp.Child("secretNamespace"), ""))
	}
	return errs
}

func validatePVAzureDisk(a *corev1.AzureDiskVolumeSource, fp *field.Path) field.ErrorList {
	errs := pvRequired(fp, "diskName", a.DiskName != "", "diskURI", a.DataDiskURI != "")
	if a.CachingMode != nil && !pvAzureCachingModes.Has(*a.CachingMode) {
		errs = append(errs, field.NotSupported(fp.Child("cachingMode"), *a.CachingMode, sets.List(pvAzureCachingModes)))
	}
	if a.Kind != nil && !pvAzureDiskKinds.Has(*a.Kind) {
		errs = append(errs, field.NotSupported(fp.Child("kind"), *a.Kind, sets.List(pvAzureDiskKinds)))
	}
	if a.Kind != nil {
		if *a.Kind == corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "/subscriptions/") {
			errs = append(errs, field.NotSupported(fp.Child("diskURI"), a.DataDiskURI,
				[]string{"/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}"}))
		}
		if *a.Kind != corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "https://") {
			errs = append(errs, field.NotSupported(fp.Child("diskURI"), a.DataDiskURI,
				[]string{"https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd"}))
		}
	}
	return errs
}

func validatePVStorageOS(s *corev1.StorageOSPersistentVolumeSource, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.VolumeName == "" {
		errs = append(errs, field.Required(fp.Child("volumeName"), ""))
	} else {
		errs = append(errs, ValidateDNS1123Label(s.VolumeName, fp.Child("volumeName"))...)
	}
	if s.VolumeNamespace != "" {
		errs = append(errs, ValidateDNS1123Label(s.VolumeNamespace, fp.Child("volumeNamespace"))...)
	}
	if s.SecretRef != nil {
		errs = append(errs, pvRequired(fp.Child("secretRef"), "name", s.SecretRef.Name != "", "namespace", s.SecretRef.Namespace != "")...)
	}
	return errs
}

// validatePVCSI validates a CSI PV: a driver name, a volume handle, and
// secret references that name a secret and its namespace.
func validatePVCSI(csi *corev1.CSIPersistentVolumeSource, fp *field.Path) field.ErrorList {
	errs := ValidateCSIDriverName(csi.Driver, fp.Child("driver"))
	errs = append(errs, pvRequired(fp, "volumeHandle", csi.VolumeHandle != "")...)
	for _, ref := range []struct {
		name string
		ref  *corev1.SecretReference
	}{
		{"controllerPublishSecretRef", csi.ControllerPublishSecretRef},
		{"controllerExpandSecretRef", csi.ControllerExpandSecretRef},
		{"nodePublishSecretRef", csi.NodePublishSecretRef},
		{"nodeExpandSecretRef", csi.NodeExpandSecretRef},
	} {
		if ref.ref != nil {
			errs = append(errs, validatePVSecretRef(ref.ref, fp.Child(ref.name))...)
		}
	}
	return errs
}

// validatePVSecretRef validates a secret reference of a PV: a DNS-subdomain
// name and a DNS-label namespace, both required.
func validatePVSecretRef(ref *corev1.SecretReference, fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Name == "" {
		errs = append(errs, field.Required(fp.Child("name"), ""))
	} else {
		errs = append(errs, ValidateDNS1123Subdomain(ref.Name, fp.Child("name"))...)
	}
	if ref.Namespace == "" {
		errs = append(errs, field.Required(fp.Child("namespace"), ""))
	} else {
		errs = append(errs, ValidateDNS1123Label(ref.Namespace, fp.Child("namespace"))...)
	}
	return errs
}
