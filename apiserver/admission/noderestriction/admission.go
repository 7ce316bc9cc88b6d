package noderestriction

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	corev1listers "k8s.io/client-go/listers/core/v1"
	storagev1listers "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/dynamic-resource-allocation/resourceclaim"

	"github.com/skiff-dev/skiff/apiserver/authz/node"
)

// PluginName is the name the plugin is registered and enabled under.
const PluginName = "NodeRestriction"

// Register adds the NodeRestriction plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return NewPlugin(), nil
	})
}

// Plugin is the NodeRestriction admission plugin. Build it with NewPlugin;
// admission's plugin initializer gives it an informer factory and the
// authorizer.
type Plugin struct {
	*admission.Handler

	pods            corev1listers.PodLister
	nodes           corev1listers.NodeLister
	pvcs            corev1listers.PersistentVolumeClaimLister
	pvs             corev1listers.PersistentVolumeLister
	csiDrivers      storagev1listers.CSIDriverLister
	serviceAccounts corev1listers.ServiceAccountLister
	authz           authorizer.Authorizer
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
	_ initializer.WantsAuthorizer                  = (*Plugin)(nil)
)

// NewPlugin returns the plugin, handling creates, updates and deletes. It
// behaves as kube-apiserver's with the Kubernetes 1.37 default features:
// PVC status updates may change the allocated resources
// (RecoverVolumeExpansionFailure), token audiences are restricted
// (ServiceAccountNodeAudienceRestriction), kubelet CSRs are checked
// (AllowInsecureKubeletCertificateSigningRequests off) and
// PodCertificateRequests are for the node's own pods (PodCertificateRequest,
// GA in 1.37).
func NewPlugin() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete)}
}

// SetExternalKubeInformerFactory takes the listers the plugin reads.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	p.pods = f.Core().V1().Pods().Lister()
	p.nodes = f.Core().V1().Nodes().Lister()
	p.pvcs = f.Core().V1().PersistentVolumeClaims().Lister()
	p.pvs = f.Core().V1().PersistentVolumes().Lister()
	p.csiDrivers = f.Storage().V1().CSIDrivers().Lister()
	p.serviceAccounts = f.Core().V1().ServiceAccounts().Lister()
}

// SetAuthorizer takes the authorizer that decides token audiences no pod
// volume names.
func (p *Plugin) SetAuthorizer(a authorizer.Authorizer) { p.authz = a }

// ValidateInitialization checks that the initializer ran.
func (p *Plugin) ValidateInitialization() error {
	if p.pods == nil || p.nodes == nil || p.pvcs == nil || p.pvs == nil || p.csiDrivers == nil || p.serviceAccounts == nil {
		return fmt.Errorf("%s requires an informer factory", PluginName)
	}
	if p.authz == nil {
		return fmt.Errorf("%s requires an authorizer", PluginName)
	}
	return nil
}

var (
	podsResource                   = corev1.Resource("pods")
	nodesResource                  = corev1.Resource("nodes")
	pvcsResource                   = corev1.Resource("persistentvolumeclaims")
	serviceAccountsResource        = corev1.Resource("serviceaccounts")
	leasesResource                 = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	csiNodesResource               = schema.GroupResource{Group: "storage.k8s.io", Resource: "csinodes"}
	resourceSlicesResource         = resourcev1.Resource("resourceslices")
	csrsResource                   = certificatesv1.Resource("certificatesigningrequests")
	podCertificateRequestsResource = schema.GroupResource{Group: "certificates.k8s.io", Resource: "podcertificaterequests"}
)

// forbidden is admission's Forbidden error for a with the message of err.
func forbidden(a admission.Attributes, format string, args ...any) error {
	return admission.NewForbidden(a, fmt.Errorf(format, args...))
}

// Admit refuses node writes beyond the node's own objects.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	nodeName, isNode := node.Identity(a.GetUserInfo())
	if !isNode {
		return nil
	}
	if nodeName == "" {
		return forbidden(a, "could not determine node from user %q", a.GetUserInfo().GetName())
	}
	switch a.GetResource().GroupResource() {
	case podsResource:
		switch a.GetSubresource() {
		case "":
			return p.admitPod(nodeName, a)
		case "status":
			return p.admitPodStatus(nodeName, a)
		case "eviction":
			return p.admitEviction(nodeName, a)
		}
		return forbidden(a, "unexpected pod subresource %q, only 'status' and 'eviction' are allowed", a.GetSubresource())
	case nodesResource:
		return p.admitNode(nodeName, a)
	case pvcsResource:
		if a.GetSubresource() == "status" {
			return p.admitPVCStatus(nodeName, a)
		}
		return forbidden(a, "may only update PVC status")
	case serviceAccountsResource:
		return p.admitServiceAccount(ctx, nodeName, a)
	case podCertificateRequestsResource:
		return p.admitPodCertificateRequest(nodeName, a)
	case leasesResource:
		return admitOwnName(a, nodeName, fmt.Sprintf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease),
			"can only access node lease with the same name as the requesting node")
	case csiNodesResource:
		return admitOwnName(a, nodeName, "", "can only access CSINode with the same name as the requesting node")
	case resourceSlicesResource:
		return admitResourceSlice(nodeName, a)
	case csrsResource:
		return admitCSR(nodeName, a)
	}
	return nil
}

// admitPod lets a node create mirror pods bound to itself and delete pods
// bound to itself.
func (p *Plugin) admitPod(nodeName string, a admission.Attributes) error {
	switch a.GetOperation() {
	case admission.Create:
		return p.admitMirrorPod(nodeName, a)
	case admission.Delete:
		pod, err := p.pods.Pods(a.GetNamespace()).Get(a.GetName())
		if apierrors.IsNotFound(err) {
			return err
		}
		if err != nil {
			return admission.NewForbidden(a, err)
		}
		if pod.Spec.NodeName != nodeName {
			return forbidden(a, "node %q can only delete pods with spec.nodeName set to itself", nodeName)
		}
		return nil
	}
	return forbidden(a, "unexpected operation %q, node %q can only create and delete mirror pods", a.GetOperation(), nodeName)
}

func (p *Plugin) admitMirrorPod(nodeName string, a admission.Attributes) error {
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetObject())
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
		return forbidden(a, "pod does not have %q annotation, node %q can only create mirror pods", corev1.MirrorPodAnnotationKey, nodeName)
	}
	if pod.Spec.NodeName != nodeName {
		return forbidden(a, "node %q can only create pods with spec.nodeName set to itself", nodeName)
	}
	switch len(pod.OwnerReferences) {
	case 0:
		return forbidden(a, "node %q can only create pods with an owner reference set to itself", nodeName)
	case 1:
	default:
		return forbidden(a, "node %q can only create pods with a single owner reference set to itself", nodeName)
	}
	owner := pod.OwnerReferences[0]
	if owner.APIVersion != corev1.SchemeGroupVersion.String() || owner.Kind != "Node" || owner.Name != nodeName {
		return forbidden(a, "node %q can only create pods with an owner reference set to itself", nodeName)
	}
	if owner.Controller == nil || !*owner.Controller {
		return forbidden(a, "node %q can only create pods with a controller owner reference set to itself", nodeName)
	}
	if owner.BlockOwnerDeletion != nil && *owner.BlockOwnerDeletion {
		return forbidden(a, "node %q must not set blockOwnerDeletion on an owner reference", nodeName)
	}
	n, err := p.nodes.Get(nodeName)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return forbidden(a, "error looking up node %s to verify uid: %v", nodeName, err)
	}
	if owner.UID != n.UID {
		return forbidden(a, "node %s UID mismatch: expected %s got %s", nodeName, owner.UID, n.UID)
	}
	resource, err := apiObjectReference(pod)
	if err != nil {
		return forbidden(a, "error checking mirror pod for API references: %w", err)
	}
	if resource != "" {
		return forbidden(a, "node %q can not create pods that reference %s", nodeName, resource)
	}
	return nil
}

// apiObjectReference returns which kind of API object (as upstream words
// it) a pod references, "" for none, and an error for volume sources it does
// not know.
func apiObjectReference(pod *corev1.Pod) (string, error) {
	switch {
	case pod.Spec.ServiceAccountName != "":
		return "serviceaccounts", nil
	case len(node.PodSecretNames(pod)) > 0:
		return "secrets", nil
	case len(node.PodConfigMapNames(pod)) > 0:
		return "configmaps", nil
	case len(pod.Spec.ResourceClaims) > 0:
		return "resourceclaims", nil
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.AWSElasticBlockStore != nil, v.AzureDisk != nil, v.CephFS != nil, v.Cinder != nil,
			v.DownwardAPI != nil, v.EmptyDir != nil, v.FC != nil, v.FlexVolume != nil, v.Flocker != nil,
			v.GCEPersistentDisk != nil, v.GitRepo != nil, v.HostPath != nil, v.Image != nil, v.ISCSI != nil,
			v.NFS != nil, v.PhotonPersistentDisk != nil, v.PortworxVolume != nil, v.Quobyte != nil, v.RBD != nil,
			v.ScaleIO != nil, v.StorageOS != nil, v.VsphereVolume != nil:
			// No API object behind these.
		case v.ConfigMap != nil:
			return "configmaps (via configmap volumes)", nil
		case v.Secret != nil:
			return "secrets (via secret volumes)", nil
		case v.CSI != nil:
			return "csidrivers (via CSI volumes)", nil
		case v.Glusterfs != nil:
			return "endpoints (via glusterFS volumes)", nil
		case v.PersistentVolumeClaim != nil:
			return "persistentvolumeclaims", nil
		case v.Ephemeral != nil:
			return "persistentvolumeclaims (via ephemeral volumes)", nil
		case v.AzureFile != nil:
			return "secrets (via azureFile volumes)", nil
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				switch {
				case s.ConfigMap != nil:
					return "configmaps (via projected volumes)", nil
				case s.Secret != nil:
					return "secrets (via projected volumes)", nil
				case s.ServiceAccountToken != nil:
					return "serviceaccounts (via projected volumes)", nil
				case s.ClusterTrustBundle != nil:
					return "clustertrustbundles", nil
				case s.PodCertificate != nil:
					return "podcertificates", nil
				case s.DownwardAPI != nil:
				default:
					return "", fmt.Errorf("unknown source for projected volume %q", v.Name)
				}
			}
		default:
			return "", fmt.Errorf("unknown volume type for volume  %q", v.Name)
		}
	}
	return "", nil
}

// admitPodStatus lets a node update the status of pods bound to itself,
// without touching labels or resource claim statuses.
func (p *Plugin) admitPodStatus(nodeName string, a admission.Attributes) error {
	if a.GetOperation() != admission.Update {
		return forbidden(a, "unexpected operation %q", a.GetOperation())
	}
	oldPod, ok := a.GetOldObject().(*corev1.Pod)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetOldObject())
	}
	if oldPod.Spec.NodeName != nodeName {
		return forbidden(a, "node %q can only update pod status for pods with spec.nodeName set to itself", nodeName)
	}
	newPod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetObject())
	}
	if !labels.Equals(oldPod.Labels, newPod.Labels) {
		return forbidden(a, "node %q cannot update labels through pod status", nodeName)
	}
	if !resourceclaim.PodStatusEqual(oldPod.Status.ResourceClaimStatuses, newPod.Status.ResourceClaimStatuses) {
		return forbidden(a, "node %q cannot update resource claim statues", nodeName)
	}
	if !extendedClaimStatusEqual(oldPod.Status.ExtendedResourceClaimStatus, newPod.Status.ExtendedResourceClaimStatus) {
		return forbidden(a, "node %q cannot update extended resource claim status", nodeName)
	}
	return nil
}

func extendedClaimStatusEqual(x, y *corev1.PodExtendedResourceClaimStatus) bool {
	if x == nil || y == nil {
		return x == y
	}
	return x.ResourceClaimName == y.ResourceClaimName && slices.Equal(x.RequestMappings, y.RequestMappings)
}

// admitEviction lets a node evict the pods bound to itself.
func (p *Plugin) admitEviction(nodeName string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return forbidden(a, "unexpected operation %s", a.GetOperation())
	}
	podName := a.GetName()
	if podName == "" {
		obj, err := meta.Accessor(a.GetObject())
		if err != nil {
			return forbidden(a, "unexpected type %T", a.GetObject())
		}
		if podName = obj.GetName(); podName == "" {
			return forbidden(a, "could not determine pod from request data")
		}
	}
	pod, err := p.pods.Pods(a.GetNamespace()).Get(podName)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if pod.Spec.NodeName != nodeName {
		return forbidden(a, "node %s can only evict pods with spec.nodeName set to itself", nodeName)
	}
	return nil
}

// admitPVCStatus lets a node change only the capacity, conditions and
// allocated resources in a claim's status.
func (p *Plugin) admitPVCStatus(nodeName string, a admission.Attributes) error {
	if a.GetOperation() != admission.Update {
		return forbidden(a, "unexpected operation %q", a.GetOperation())
	}
	oldPVC, ok := a.GetOldObject().(*corev1.PersistentVolumeClaim)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetOldObject())
	}
	newPVC, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetObject())
	}
	stripped := func(pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
		c := pvc.DeepCopy()
		// An unconditional update leaves the resource version empty, and
		// managed fields are the server's.
		c.ResourceVersion = ""
		c.ManagedFields = nil
		c.Status.Capacity = nil
		c.Status.Conditions = nil
		c.Status.AllocatedResources = nil
		c.Status.AllocatedResourceStatuses = nil
		return c
	}
	o, n := stripped(oldPVC), stripped(newPVC)
	if !apiequality.Semantic.DeepEqual(o, n) {
		return forbidden(a, "node %q is not allowed to update fields other than status.quantity and status.conditions: %v", nodeName, diff.Diff(o, n))
	}
	return nil
}

// admitNode lets a node create and update only its own Node object, without
// a config source, taint or owner reference changes, or labels beyond the
// kubelet's.
func (p *Plugin) admitNode(nodeName string, a admission.Attributes) error {
	if name := a.GetName(); name != nodeName {
		return forbidden(a, "node %q is not allowed to modify node %q", nodeName, name)
	}
	switch a.GetOperation() {
	case admission.Create:
		n, ok := a.GetObject().(*corev1.Node)
		if !ok {
			return forbidden(a, "unexpected type %T", a.GetObject())
		}
		if n.Spec.ConfigSource != nil {
			return forbidden(a, "node %q is not allowed to create pods with a non-nil configSource", nodeName)
		}
		if bad := forbiddenLabels(changedLabels(n.Labels, nil)); len(bad) > 0 {
			return forbidden(a, "node %q is not allowed to set the following labels: %s", nodeName, strings.Join(bad, ", "))
		}
	case admission.Update:
		n, ok := a.GetObject().(*corev1.Node)
		if !ok {
			return forbidden(a, "unexpected type %T", a.GetObject())
		}
		old, ok := a.GetOldObject().(*corev1.Node)
		if !ok {
			return forbidden(a, "unexpected type %T", a.GetObject())
		}
		// Old kubelets may drop the field on status updates, so only a new
		// non-nil config source is refused.
		if n.Spec.ConfigSource != nil && !apiequality.Semantic.DeepEqual(n.Spec.ConfigSource, old.Spec.ConfigSource) {
			return forbidden(a, "node %q is not allowed to update configSource to a new non-nil configSource", nodeName)
		}
		if !apiequality.Semantic.DeepEqual(n.Spec.Taints, old.Spec.Taints) {
			return forbidden(a, "node %q is not allowed to modify taints", nodeName)
		}
		if !apiequality.Semantic.DeepEqual(n.OwnerReferences, old.OwnerReferences) {
			return forbidden(a, "node %q is not allowed to modify ownerReferences", nodeName)
		}
		if bad := forbiddenLabels(changedLabels(n.Labels, old.Labels)); len(bad) > 0 {
			return forbidden(a, "is not allowed to modify labels: %s", strings.Join(bad, ", "))
		}
	}
	return nil
}

// admitServiceAccount lets a node request tokens only bound to pods running
// on it, for audiences its pods' volumes name or that it is authorized for.
// admitPodCertificateRequest lets a node create PodCertificateRequests
// only for a non-mirror pod running on it, naming the node, the pod and its
// service account with their current UIDs, as upstream. A UID mismatch or
// a missing object may be informer lag: those errors are not Forbidden, so
// that the kubelet retries.
func (p *Plugin) admitPodCertificateRequest(nodeName string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return forbidden(a, "unexpected operation %v", a.GetOperation())
	}
	if a.GetSubresource() != "" {
		return forbidden(a, "unexpected subresource %v", a.GetSubresource())
	}
	req, ok := a.GetObject().(*certificatesv1.PodCertificateRequest)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetObject())
	}
	namespace, spec := a.GetNamespace(), req.Spec
	podKey := namespace + "/" + spec.PodName
	if string(spec.NodeName) != nodeName {
		return forbidden(a, "PodCertificateRequest.Spec.NodeName=%q, which is not the requesting node %q", spec.NodeName, nodeName)
	}
	n, err := p.nodes.Get(string(spec.NodeName))
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("while retrieving node %q named in the PodCertificateRequest: %w", spec.NodeName, err)
	}
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("while retrieving node %q named in the PodCertificateRequest: %w", spec.NodeName, err))
	}
	if n.UID != spec.NodeUID {
		return fmt.Errorf("PodCertificateRequest for pod %q names node UID %q, inconsistent with the running node (%q)", podKey, spec.NodeUID, n.UID)
	}
	pod, err := p.pods.Pods(namespace).Get(spec.PodName)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("while retrieving pod %q named in the PodCertificateRequest: %w", podKey, err)
	}
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("while retrieving pod %q named in the PodCertificateRequest: %w", podKey, err))
	}
	if spec.PodUID != pod.UID {
		return fmt.Errorf("PodCertificateRequest for pod %q contains pod UID (%q) which differs from running pod %q", podKey, spec.PodUID, string(pod.UID))
	}
	if pod.Spec.NodeName != string(spec.NodeName) {
		return forbidden(a, "pod %q is not running on node %q named in the PodCertificateRequest", podKey, spec.NodeName)
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return forbidden(a, "pod %q is a mirror pod", podKey)
	}
	if spec.ServiceAccountName != pod.Spec.ServiceAccountName {
		return forbidden(a, "PodCertificateRequest for pod %q contains serviceAccountName (%q) that differs from running pod (%q)", podKey, spec.ServiceAccountName, pod.Spec.ServiceAccountName)
	}
	sa, err := p.serviceAccounts.ServiceAccounts(namespace).Get(spec.ServiceAccountName)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("while retrieving service account %q named in the PodCertificateRequest: %w", namespace+"/"+spec.ServiceAccountName, err)
	}
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("while retrieving service account %q named in the PodCertificateRequest: %w", namespace+"/"+spec.ServiceAccountName, err))
	}
	if spec.ServiceAccountUID != sa.UID {
		return fmt.Errorf("PodCertificateRequest for pod %q names service account UID %q, which differs from the running service account (%q)", podKey, spec.ServiceAccountUID, sa.UID)
	}
	return nil
}

func (p *Plugin) admitServiceAccount(ctx context.Context, nodeName string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create || a.GetSubresource() != "token" {
		return nil
	}
	tr, ok := a.GetObject().(*authenticationv1.TokenRequest)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetObject())
	}
	ref := tr.Spec.BoundObjectRef
	if ref == nil || ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Name == "" {
		return forbidden(a, "node requested token not bound to a pod")
	}
	if ref.UID == "" {
		return forbidden(a, "node requested token with a pod binding without a uid")
	}
	pod, err := p.pods.Pods(a.GetNamespace()).Get(ref.Name)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if ref.UID != pod.UID {
		return forbidden(a, "the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID)
	}
	if pod.Spec.NodeName != nodeName {
		return forbidden(a, "node requested token bound to a pod scheduled on a different node")
	}
	if err := p.checkAudience(ctx, tr, pod, a); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// checkAudience requires the requested audience to be one a volume of the
// pod asks for (a projected token, or the token requests of a CSI driver it
// uses), or the node to be authorized for it with the
// request-serviceaccounts-token-audience verb.
func (p *Plugin) checkAudience(ctx context.Context, tr *authenticationv1.TokenRequest, pod *corev1.Pod, a admission.Attributes) error {
	audience := ""
	switch len(tr.Spec.Audiences) {
	case 0:
	case 1:
		audience = tr.Spec.Audiences[0]
	default:
		return errors.New("node may only request 0 or 1 audiences")
	}
	found, err := p.podUsesAudience(pod, audience)
	if err != nil {
		return fmt.Errorf("error validating audience %q: %w", audience, err)
	}
	if found {
		return nil
	}
	u := a.GetUserInfo()
	decision, _, err := p.authz.Authorize(ctx, authorizer.AttributesRecord{
		User:            u,
		Verb:            "request-serviceaccounts-token-audience",
		Namespace:       a.GetNamespace(),
		APIVersion:      "v1",
		Resource:        audience,
		Name:            a.GetName(),
		ResourceRequest: true,
	})
	// An authorizer may allow despite errors; the decision comes first.
	if decision == authorizer.DecisionAllow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audience %q not found in pod spec volume, error authorizing %s to request tokens for this audience: %w", audience, u.GetName(), err)
	}
	return fmt.Errorf("audience %q not found in pod spec volume, %s is not authorized to request tokens for this audience", audience, u.GetName())
}

// podUsesAudience reports whether a volume of pod asks for tokens for
// audience. In-tree volumes migrated to CSI are not translated, so their
// drivers' token requests do not count.
func (p *Plugin) podUsesAudience(pod *corev1.Pod, audience string) (bool, error) {
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil && s.ServiceAccountToken.Audience == audience {
					return true, nil
				}
			}
		}
		var driver string
		var err error
		switch {
		case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil:
			driver, err = p.claimDriver(pod.Namespace, ephemeral.VolumeClaimName(pod, v))
		case v.PersistentVolumeClaim != nil:
			driver, err = p.claimDriver(pod.Namespace, v.PersistentVolumeClaim.ClaimName)
		case v.CSI != nil:
			driver = v.CSI.Driver
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if driver == "" {
			continue
		}
		d, err := p.csiDrivers.Get(driver)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range d.Spec.TokenRequests {
			if r.Audience == audience {
				return true, nil
			}
		}
	}
	return false, errors.Join(errs...)
}

// claimDriver returns the CSI driver of the volume bound to a claim, "" when
// it is not a CSI volume.
func (p *Plugin) claimDriver(namespace, claim string) (string, error) {
	pvc, err := p.pvcs.PersistentVolumeClaims(namespace).Get(claim)
	if err != nil {
		return "", err
	}
	pv, err := p.pvs.Get(pvc.Spec.VolumeName)
	if err != nil {
		return "", err
	}
	if pv.Spec.CSI != nil {
		return pv.Spec.CSI.Driver, nil
	}
	return "", nil
}

// admitOwnName requires a namespaced (namespaceMessage non-empty: in
// kube-node-lease) or cluster-scoped object a node writes to carry the
// node's name.
func admitOwnName(a admission.Attributes, nodeName, namespaceMessage, nameMessage string) error {
	if namespaceMessage != "" && a.GetNamespace() != corev1.NamespaceNodeLease {
		return forbidden(a, "%s", namespaceMessage)
	}
	name := a.GetName()
	if a.GetOperation() == admission.Create {
		// The request carries no name on create; the object does.
		obj, err := meta.Accessor(a.GetObject())
		if err != nil {
			if namespaceMessage != "" {
				return forbidden(a, "unexpected type %T", a.GetObject())
			}
			return forbidden(a, "unable to access the object name")
		}
		name = obj.GetName()
	}
	if name != nodeName {
		return forbidden(a, "%s", nameMessage)
	}
	return nil
}

// admitResourceSlice requires the slices a node creates or deletes to name
// it in spec.nodeName; other writes the Node authorizer checks.
func admitResourceSlice(nodeName string, a admission.Attributes) error {
	switch a.GetOperation() {
	case admission.Create:
		s, ok := a.GetObject().(*resourcev1.ResourceSlice)
		if !ok {
			return forbidden(a, "unexpected type %T", a.GetObject())
		}
		if s.Spec.NodeName == nil || *s.Spec.NodeName != nodeName {
			return forbidden(a, "can only create ResourceSlice with the same NodeName as the requesting node")
		}
	case admission.Delete:
		s, ok := a.GetOldObject().(*resourcev1.ResourceSlice)
		if !ok {
			return forbidden(a, "unexpected type %T", a.GetOldObject())
		}
		if s.Spec.NodeName == nil || *s.Spec.NodeName != nodeName {
			return forbidden(a, "can only delete ResourceSlice with the same NodeName as the requesting node")
		}
	}
	return nil
}

// admitCSR requires a node's CSRs for the kubelet signers to be for its own
// name.
func admitCSR(nodeName string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return nil
	}
	csr, ok := a.GetObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return forbidden(a, "unexpected type %T", a.GetObject())
	}
	if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName && csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return nil
	}
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return forbidden(a, "unable to parse csr: %w", errors.New("PEM block type must be CERTIFICATE REQUEST"))
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return forbidden(a, "unable to parse csr: %w", err)
	}
	if req.Subject.CommonName != node.UserNamePrefix+nodeName {
		return forbidden(a, "can only create a node CSR with CN=system:node:%s", nodeName)
	}
	return nil
}
