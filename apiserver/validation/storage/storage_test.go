package storage

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"
)

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, ResourceVersion: "1"} }

func storageClass(mutate func(*storagev1.StorageClass)) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{
		ObjectMeta:        meta("fast"),
		Provisioner:       "kubernetes.io/gce-pd",
		Parameters:        map[string]string{"type": "pd-ssd"},
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}
	if mutate != nil {
		mutate(sc)
	}
	return sc
}

func topology(key string, values ...string) corev1.TopologySelectorTerm {
	return corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: key, Values: values}}}
}

func TestValidateStorageClass(t *testing.T) {
	manyParams := map[string]string{}
	for i := 0; i < 513; i++ {
		manyParams[strings.Repeat("k", i+1)] = "v"
	}
	tests := []struct {
		name string
		sc   *storagev1.StorageClass
		want []vt.Want
	}{
		{name: "valid", sc: storageClass(nil)},
		{name: "upper-case provisioner is lower-cased first", sc: storageClass(func(sc *storagev1.StorageClass) { sc.Provisioner = "Example.COM/Disk" })},
		{name: "retain, wait for first consumer, topologies", sc: storageClass(func(sc *storagev1.StorageClass) {
			sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
			sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topology("zone", "a", "b"), topology("zone", "c")}
		})},
		{
			name: "provisioner required",
			sc:   storageClass(func(sc *storagev1.StorageClass) { sc.Provisioner = "" }),
			want: []vt.Want{vt.Required("provisioner", "")},
		},
		{
			name: "provisioner must be a qualified name",
			sc:   storageClass(func(sc *storagev1.StorageClass) { sc.Provisioner = "a/b/c" }),
			want: []vt.Want{vt.Invalid("provisioner", "a valid label key must consist of")},
		},
		{
			name: "empty parameter key",
			sc:   storageClass(func(sc *storagev1.StorageClass) { sc.Parameters = map[string]string{"": "x"} }),
			want: []vt.Want{vt.Invalid("parameters", "field can not be empty.")},
		},
		{
			name: "too many parameters",
			sc:   storageClass(func(sc *storagev1.StorageClass) { sc.Parameters = manyParams }),
			want: []vt.Want{vt.TooLong("parameters", "may not be more than 512 bytes")},
		},
		{
			name: "parameters too large",
			sc: storageClass(func(sc *storagev1.StorageClass) {
				sc.Parameters = map[string]string{"k": strings.Repeat("v", 256*1024)}
			}),
			want: []vt.Want{vt.TooLong("parameters", "may not be more than 262144 bytes")},
		},
		{
			name: "recycle is not supported",
			sc:   storageClass(func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle) }),
			want: []vt.Want{vt.NotSupported("reclaimPolicy", `supported values: "Delete", "Retain"`)},
		},
		{
			name: "binding mode required and known",
			sc:   storageClass(func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = nil }),
			want: []vt.Want{vt.Required("volumeBindingMode", "")},
		},
		{
			name: "unknown binding mode",
			sc:   storageClass(func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingMode("Later")) }),
			want: []vt.Want{vt.NotSupported("volumeBindingMode", `supported values: "Immediate", "WaitForFirstConsumer"`)},
		},
		{
			name: "topology terms",
			sc: storageClass(func(sc *storagev1.StorageClass) {
				sc.AllowedTopologies = []corev1.TopologySelectorTerm{
					{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
						{Key: "zone", Values: []string{"a", "a"}},
						{Key: "zone", Values: []string{"b"}},
						{Key: "bad key!"},
					}},
					topology("rack", "1"),
					topology("rack", "1"),
				}
			}),
			want: []vt.Want{
				{Type: "FieldValueDuplicate", Field: "allowedTopologies[0].matchLabelExpressions[0].values[1]"},
				{Type: "FieldValueDuplicate", Field: "allowedTopologies[0].matchLabelExpressions[1].key"},
				vt.Required("allowedTopologies[0].matchLabelExpressions[2].values", ""),
				vt.Invalid("allowedTopologies[0].matchLabelExpressions[2].key", "name part must consist of"),
				{Type: "FieldValueDuplicate", Field: "allowedTopologies[2].matchLabelExpressions"},
			},
		},
		{
			name: "an empty topology term matches upstream's placeholders",
			sc: storageClass(func(sc *storagev1.StorageClass) {
				sc.AllowedTopologies = []corev1.TopologySelectorTerm{{}}
			}),
			want: []vt.Want{{Type: "FieldValueDuplicate", Field: "allowedTopologies[0].matchLabelExpressions"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateStorageClass(tt.sc), tt.want...)
		})
	}
}

func TestValidateStorageClassUpdate(t *testing.T) {
	old := storageClass(nil)
	tests := []struct {
		name string
		sc   *storagev1.StorageClass
		want []vt.Want
	}{
		{name: "labels and expansion may change", sc: storageClass(func(sc *storagev1.StorageClass) {
			sc.Labels = map[string]string{"a": "b"}
			sc.AllowVolumeExpansion = ptr.To(true)
			sc.MountOptions = []string{"ro"}
		})},
		{
			name: "immutable fields",
			sc: storageClass(func(sc *storagev1.StorageClass) {
				sc.Parameters = map[string]string{"type": "pd-standard"}
				sc.Provisioner = "example.com/other"
				sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
				sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
			}),
			want: []vt.Want{
				vt.Forbidden("parameters", "updates to parameters are forbidden."),
				vt.Forbidden("provisioner", "updates to provisioner are forbidden."),
				vt.Forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."),
				vt.Invalid("volumeBindingMode", "field is immutable"),
			},
		},
		{
			name: "create rules still hold",
			sc: storageClass(func(sc *storagev1.StorageClass) {
				sc.AllowedTopologies = []corev1.TopologySelectorTerm{topology("zone")}
			}),
			want: []vt.Want{vt.Required("allowedTopologies[0].matchLabelExpressions[0].values", "")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateStorageClassUpdate(tt.sc, old), tt.want...)
		})
	}
}

func csiDriver(mutate func(*storagev1.CSIDriverSpec)) *storagev1.CSIDriver {
	d := &storagev1.CSIDriver{
		ObjectMeta: meta("hostpath.csi.k8s.io"),
		Spec: storagev1.CSIDriverSpec{
			AttachRequired:       ptr.To(true),
			PodInfoOnMount:       ptr.To(false),
			StorageCapacity:      ptr.To(false),
			SELinuxMount:         ptr.To(false),
			RequiresRepublish:    ptr.To(false),
			FSGroupPolicy:        ptr.To(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		},
	}
	if mutate != nil {
		mutate(&d.Spec)
	}
	return d
}

func TestValidateCSIDriver(t *testing.T) {
	tests := []struct {
		name string
		d    *storagev1.CSIDriver
		want []vt.Want
	}{
		{name: "valid", d: csiDriver(nil)},
		{name: "token requests and secrets", d: csiDriver(func(s *storagev1.CSIDriverSpec) {
			s.TokenRequests = []storagev1.TokenRequest{{Audience: "vault", ExpirationSeconds: ptr.To[int64](600)}, {Audience: ""}}
			s.ServiceAccountTokenInSecrets = ptr.To(true)
			s.NodeAllocatableUpdatePeriodSeconds = ptr.To[int64](10)
		})},
		{
			name: "required booleans",
			d: csiDriver(func(s *storagev1.CSIDriverSpec) {
				s.AttachRequired, s.PodInfoOnMount, s.StorageCapacity, s.SELinuxMount = nil, nil, nil, nil
			}),
			want: []vt.Want{
				vt.Required("spec.attachedRequired", ""),
				vt.Required("spec.podInfoOnMount", ""),
				vt.Required("spec.storageCapacity", ""),
				vt.Required("spec.seLinuxMount", ""),
			},
		},
		{
			name: "enums",
			d: csiDriver(func(s *storagev1.CSIDriverSpec) {
				s.FSGroupPolicy = ptr.To(storagev1.FSGroupPolicy("Sometimes"))
				s.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{"Persistent", "Forever"}
			}),
			want: []vt.Want{
				vt.NotSupported("spec.fsGroupPolicy", `supported values: "File", "None", "ReadWriteOnceWithFSType"`),
				vt.NotSupported("spec.volumeLifecycleModes", `supported values: "Persistent", "Ephemeral"`),
			},
		},
		{
			name: "token requests",
			d: csiDriver(func(s *storagev1.CSIDriverSpec) {
				s.TokenRequests = []storagev1.TokenRequest{
					{Audience: "a", ExpirationSeconds: ptr.To[int64](599)},
					{Audience: "a", ExpirationSeconds: ptr.To[int64](1)},
					{Audience: "b", ExpirationSeconds: ptr.To[int64](1<<32 + 1)},
				}
			}),
			want: []vt.Want{
				vt.Invalid("spec.tokenRequests[0].expirationSeconds", "may not specify a duration less than 10 minutes"),
				{Type: "FieldValueDuplicate", Field: "spec.tokenRequests[1].audience"},
				vt.Invalid("spec.tokenRequests[2].expirationSeconds", "may not specify a duration larger than 2^32 seconds"),
			},
		},
		{
			name: "update period and secrets without token requests",
			d: csiDriver(func(s *storagev1.CSIDriverSpec) {
				s.NodeAllocatableUpdatePeriodSeconds = ptr.To[int64](9)
				s.ServiceAccountTokenInSecrets = ptr.To(false)
			}),
			want: []vt.Want{
				vt.Invalid("spec.nodeAllocatableUpdatePeriodSeconds", "must be greater than or equal to 10 seconds"),
				vt.Invalid("spec.serviceAccountTokenInSecrets", "serviceAccountTokenInSecrets is set but no tokenRequests are specified"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateCSIDriver(tt.d), tt.want...)
		})
	}
}

func TestValidateCSIDriverUpdate(t *testing.T) {
	old := csiDriver(nil)
	vt.Expect(t, ValidateCSIDriverUpdate(csiDriver(func(s *storagev1.CSIDriverSpec) { s.PodInfoOnMount = ptr.To(true) }), old))
	vt.Expect(t, ValidateCSIDriverUpdate(csiDriver(func(s *storagev1.CSIDriverSpec) {
		s.AttachRequired = ptr.To(false)
		s.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral}
		s.StorageCapacity = nil
	}), old),
		vt.Invalid("spec.attachedRequired", "field is immutable"),
		vt.Invalid("spec.volumeLifecycleModes", "field is immutable"),
		vt.Required("spec.storageCapacity", ""),
	)
}

func csiNode(drivers ...storagev1.CSINodeDriver) *storagev1.CSINode {
	return &storagev1.CSINode{ObjectMeta: meta("node-1"), Spec: storagev1.CSINodeSpec{Drivers: drivers}}
}

func TestValidateCSINode(t *testing.T) {
	good := storagev1.CSINodeDriver{Name: "hostpath.csi.k8s.io", NodeID: "node-1", TopologyKeys: []string{"topology.hostpath.csi/node"},
		Allocatable: &storagev1.VolumeNodeResources{Count: ptr.To[int32](10)}}
	tests := []struct {
		name string
		n    *storagev1.CSINode
		want []vt.Want
	}{
		{name: "valid", n: csiNode(good)},
		{name: "no drivers", n: csiNode()},
		{name: "long node ID", n: csiNode(storagev1.CSINodeDriver{Name: "d.example.com", NodeID: strings.Repeat("x", 256)})},
		{
			name: "driver fields",
			n: csiNode(good, storagev1.CSINodeDriver{
				Name:         "hostpath.csi.k8s.io",
				NodeID:       strings.Repeat("x", 257),
				TopologyKeys: []string{"", "zone", "zone"},
				Allocatable:  &storagev1.VolumeNodeResources{Count: ptr.To[int32](-1)},
			}, storagev1.CSINodeDriver{Name: "Bad_Driver"}),
			want: []vt.Want{
				vt.Invalid("spec.drivers[1].nodeID", "must be 256 characters or less"),
				vt.Invalid("spec.drivers[1].allocatable.count", "must be greater than or equal to 0"),
				{Type: "FieldValueDuplicate", Field: "spec.drivers[1].name"},
				vt.Required("spec.drivers[1]", ""),
				vt.Invalid("spec.drivers[1]", "name part must be non-empty"),
				vt.Invalid("spec.drivers[1]", "name part must consist of"),
				{Type: "FieldValueDuplicate", Field: "spec.drivers[1]"},
				vt.Invalid("spec.drivers[2].name", "a lowercase RFC 1123 subdomain"),
				vt.Required("spec.drivers[2].nodeID", ""),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateCSINode(tt.n), tt.want...)
		})
	}
}

func TestValidateCSINodeUpdate(t *testing.T) {
	driver := storagev1.CSINodeDriver{Name: "d.example.com", NodeID: "n1", Allocatable: &storagev1.VolumeNodeResources{Count: ptr.To[int32](1)}}
	old := csiNode(driver)
	recount := driver
	recount.Allocatable = &storagev1.VolumeNodeResources{Count: ptr.To[int32](5)}
	vt.Expect(t, ValidateCSINodeUpdate(csiNode(recount), old))
	vt.Expect(t, ValidateCSINodeUpdate(csiNode(), old))
	moved := driver
	moved.NodeID = "n2"
	vt.Expect(t, ValidateCSINodeUpdate(csiNode(moved), old), vt.Invalid("spec.drivers", "field is immutable"))
}

func capacity(mutate func(*storagev1.CSIStorageCapacity)) *storagev1.CSIStorageCapacity {
	c := &storagev1.CSIStorageCapacity{
		ObjectMeta:       metav1.ObjectMeta{Name: "csisc-1", Namespace: "kube-system", ResourceVersion: "1"},
		NodeTopology:     &metav1.LabelSelector{MatchLabels: map[string]string{"zone": "a"}},
		StorageClassName: "fast",
		Capacity:         ptr.To(resource.MustParse("10Gi")),
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

func TestValidateCSIStorageCapacity(t *testing.T) {
	vt.Expect(t, ValidateCSIStorageCapacity(capacity(nil)))
	vt.Expect(t, ValidateCSIStorageCapacity(capacity(func(c *storagev1.CSIStorageCapacity) {
		c.Namespace = ""
		c.StorageClassName = "Fast!"
		c.Capacity = ptr.To(resource.MustParse("-1"))
		c.NodeTopology = &metav1.LabelSelector{MatchLabels: map[string]string{"zone": "a b"}}
	})),
		vt.Required("metadata.namespace", ""),
		vt.Invalid("storageClassName", "a lowercase RFC 1123 subdomain"),
		vt.Invalid("capacity", "must be greater than or equal to 0"),
		vt.Invalid("nodeTopology.matchLabels", "a valid label must be an empty string or consist of"),
	)
	old := capacity(nil)
	vt.Expect(t, ValidateCSIStorageCapacityUpdate(capacity(func(c *storagev1.CSIStorageCapacity) {
		c.Capacity = ptr.To(resource.MustParse("5Gi"))
	}), old))
	vt.Expect(t, ValidateCSIStorageCapacityUpdate(capacity(func(c *storagev1.CSIStorageCapacity) {
		c.StorageClassName = "slow"
		c.NodeTopology = nil
	}), old),
		vt.Invalid("storageClassName", "field is immutable"),
		vt.Invalid("nodeTopology", "field is immutable"),
	)
}

func attachment(mutate func(*storagev1.VolumeAttachment)) *storagev1.VolumeAttachment {
	va := &storagev1.VolumeAttachment{
		ObjectMeta: meta("csi-123"),
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "hostpath.csi.k8s.io",
			NodeName: "node-1",
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")},
		},
	}
	if mutate != nil {
		mutate(va)
	}
	return va
}

func inlineSpec() *corev1.PersistentVolumeSpec {
	return &corev1.PersistentVolumeSpec{
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-1"}},
	}
}

func TestValidateVolumeAttachment(t *testing.T) {
	tests := []struct {
		name string
		va   *storagev1.VolumeAttachment
		want []vt.Want
	}{
		{name: "persistent volume", va: attachment(nil)},
		{name: "inline CSI volume", va: attachment(func(va *storagev1.VolumeAttachment) {
			va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: inlineSpec()}
		})},
		{name: "status", va: attachment(func(va *storagev1.VolumeAttachment) {
			va.Status = storagev1.VolumeAttachmentStatus{Attached: true, AttachmentMetadata: map[string]string{"lun": "1"},
				DetachError: &storagev1.VolumeError{Message: "busy", ErrorCode: ptr.To[int32](5)}}
		})},
		{
			name: "attacher, node and missing source",
			va: attachment(func(va *storagev1.VolumeAttachment) {
				va.Spec.Attacher, va.Spec.NodeName = "", "Node_1"
				va.Spec.Source = storagev1.VolumeAttachmentSource{}
			}),
			want: []vt.Want{
				vt.Required("spec.attacher", ""),
				vt.Invalid("spec.nodeName", "a lowercase RFC 1123 subdomain"),
				vt.Required("spec.source", "must specify exactly one of inlineVolumeSpec and persistentVolumeName"),
			},
		},
		{
			name: "both sources",
			va: attachment(func(va *storagev1.VolumeAttachment) {
				va.Spec.Source.InlineVolumeSpec = inlineSpec()
			}),
			want: []vt.Want{vt.Forbidden("spec.source", "must specify exactly one of inlineVolumeSpec and persistentVolumeName")},
		},
		{
			name: "empty and malformed volume names",
			va:   attachment(func(va *storagev1.VolumeAttachment) { va.Spec.Source.PersistentVolumeName = ptr.To("") }),
			want: []vt.Want{vt.Required("spec.source.persistentVolumeName", "must specify non empty persistentVolumeName")},
		},
		{
			name: "attacher too long",
			va:   attachment(func(va *storagev1.VolumeAttachment) { va.Spec.Attacher = strings.Repeat("a", 64) }),
			want: []vt.Want{vt.TooLong("spec.attacher", "may not be more than 63 bytes")},
		},
		{
			name: "inline spec rules",
			va: attachment(func(va *storagev1.VolumeAttachment) {
				spec := &corev1.PersistentVolumeSpec{
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, "WriteOnly"},
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					ClaimRef:                      &corev1.ObjectReference{Name: "c"},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
					NodeAffinity:                  &corev1.VolumeNodeAffinity{},
					StorageClassName:              "fast",
					VolumeMode:                    ptr.To(corev1.PersistentVolumeBlock),
				}
				va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: spec}
			}),
			want: []vt.Want{
				vt.Forbidden("spec.source.inlineVolumeSpec.claimRef", "may not be specified in the context of inline volumes"),
				vt.Forbidden("spec.source.inlineVolumeSpec.capacity", "may not be specified in the context of inline volumes"),
				vt.Required("spec.source.inlineVolumeSpec.csi", "has to be specified in the context of inline volumes"),
				vt.NotSupported("spec.source.inlineVolumeSpec.accessModes", `"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`),
				vt.Forbidden("spec.source.inlineVolumeSpec.accessModes", "may not use ReadWriteOncePod with other access modes"),
				vt.Forbidden("spec.source.inlineVolumeSpec.persistentVolumeReclaimPolicy", "may only be Retain in the context of inline volumes"),
				vt.Forbidden("spec.source.inlineVolumeSpec.nodeAffinity", "may not be specified in the context of inline volumes"),
				vt.Forbidden("spec.source.inlineVolumeSpec.storageClassName", "may not be specified in the context of inline volumes"),
				vt.Forbidden("spec.source.inlineVolumeSpec.volumeMode", "may not specify volumeMode other than Filesystem in the context of inline volumes"),
			},
		},
		{
			name: "inline CSI source",
			va: attachment(func(va *storagev1.VolumeAttachment) {
				spec := inlineSpec()
				spec.CSI = &corev1.CSIPersistentVolumeSource{NodePublishSecretRef: &corev1.SecretReference{Name: "Bad_Name"}}
				va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: spec}
			}),
			want: []vt.Want{
				vt.Required("spec.source.inlineVolumeSpec.csi.driver", ""),
				vt.Required("spec.source.inlineVolumeSpec.csi.volumeHandle", ""),
				vt.Invalid("spec.source.inlineVolumeSpec.csi.nodePublishSecretRef.name", "a lowercase RFC 1123 subdomain"),
				vt.Required("spec.source.inlineVolumeSpec.csi.nodePublishSecretRef.namespace", ""),
			},
		},
		{
			name: "status errors",
			va: attachment(func(va *storagev1.VolumeAttachment) {
				va.Status.AttachmentMetadata = map[string]string{"k": strings.Repeat("v", 256*1024)}
				va.Status.AttachError = &storagev1.VolumeError{Message: strings.Repeat("m", 1025)}
				va.Status.DetachError = &storagev1.VolumeError{ErrorCode: ptr.To[int32](-1)}
			}),
			want: []vt.Want{
				vt.TooLong("status.attachmentMetadata", "may not be more than 262144 bytes"),
				vt.TooLong("status.attachError.message", "may not be more than 262144 bytes"),
				vt.Invalid("status.detachError.errorCode", "must be between 0 and 2147483647, inclusive"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vt.Expect(t, ValidateVolumeAttachment(tt.va), tt.want...)
		})
	}
}

func TestValidateVolumeAttachmentUpdates(t *testing.T) {
	old := attachment(nil)
	attached := attachment(func(va *storagev1.VolumeAttachment) { va.Status.Attached = true })
	vt.Expect(t, ValidateVolumeAttachmentStatusUpdate(attached, old))
	vt.Expect(t, ValidateVolumeAttachmentUpdate(attached, old))
	moved := attachment(func(va *storagev1.VolumeAttachment) { va.Spec.NodeName = "node-2" })
	vt.Expect(t, ValidateVolumeAttachmentUpdate(moved, old), vt.Invalid("spec", "field is immutable"))
	badStatus := attachment(func(va *storagev1.VolumeAttachment) {
		va.Status.AttachError = &storagev1.VolumeError{ErrorCode: ptr.To[int32](-2)}
	})
	vt.Expect(t, ValidateVolumeAttachmentStatusUpdate(badStatus, old), vt.Invalid("status.attachError.errorCode", "must be between"))
}

func TestValidateVolumeAttributesClass(t *testing.T) {
	vac := func(driver string, params map[string]string) *storagev1.VolumeAttributesClass {
		return &storagev1.VolumeAttributesClass{ObjectMeta: meta("gold"), DriverName: driver, Parameters: params}
	}
	vt.Expect(t, ValidateVolumeAttributesClass(vac("ebs.csi.aws.com", map[string]string{"iops": "3000"})))
	vt.Expect(t, ValidateVolumeAttributesClass(vac("", nil)),
		vt.Required("driverName", ""),
		vt.Required("parameters", "must contain at least one key/value pair"),
	)
	old := vac("ebs.csi.aws.com", map[string]string{"iops": "3000"})
	vt.Expect(t, ValidateVolumeAttributesClassUpdate(vac("other.example.com", map[string]string{"iops": "4000"}), old),
		vt.Forbidden("driverName", "updates to driverName are forbidden."),
		vt.Forbidden("parameters", "updates to parameters are forbidden."),
	)
}
