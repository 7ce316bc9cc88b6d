// Package admission assembles the admission plugins Skiff's API server
// offers: upstream's generic plugins from k8s.io/apiserver (NamespaceLifecycle,
// admission webhooks, ValidatingAdmissionPolicy, MutatingAdmissionPolicy) and
// Skiff's own (subpackages: ServiceAccount, LimitRanger, ResourceQuota,
// PodSecurity, Priority, RuntimeClass, DefaultStorageClass,
// DefaultTolerationSeconds, TaintNodesByCondition, DefaultIngressClass,
// StorageObjectInUseProtection, PersistentVolumeClaimResize,
// CertificateApproval, CertificateSigning, CertificateSubjectRestriction),
// with kube-apiserver's names, order and defaults.
package admission
