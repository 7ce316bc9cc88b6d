package node

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/authz/rbac"
)

// Reasons given with NoOpinion, as kube-apiserver words them.
const (
	reasonNotSynced = "node authorizer graph has not synced yet"
)

// Authorizer is the Node authorizer. It implements authorizer.Authorizer and
// authorizer.RuleResolver.
type Authorizer struct {
	graph *Graph
	rules []rbacv1.PolicyRule
	// synced reports whether the graph reflects the informers' initial
	// lists; before that, decisions that need the graph have no opinion.
	synced func() bool
	logger klog.Logger
}

var (
	_ authorizer.Authorizer   = (*Authorizer)(nil)
	_ authorizer.RuleResolver = (*Authorizer)(nil)
)

// New builds the Node authorizer over f's informers, which must be started
// (with f.Start) for it to allow anything that depends on the graph. rules
// are what every node may do outside the resources the graph subdivides:
// kube-apiserver uses the system:node role's rules
// (rbacpolicy.NodeRules()).
func New(f informers.SharedInformerFactory, rules []rbacv1.PolicyRule) (*Authorizer, error) {
	logger := klog.Background().WithName("node-authorizer")
	g := NewGraph()
	synced, err := Populate(g, f, logger)
	if err != nil {
		return nil, fmt.Errorf("populate node authorizer graph: %w", err)
	}
	return NewAuthorizer(g, rules, synced), nil
}

// NewAuthorizer returns an authorizer over a graph that the caller keeps up
// to date; synced (nil means always) reports whether the graph is complete.
func NewAuthorizer(g *Graph, rules []rbacv1.PolicyRule, synced func() bool) *Authorizer {
	if synced == nil {
		synced = func() bool { return true }
	}
	return &Authorizer{graph: g, rules: rules, synced: synced, logger: klog.Background().WithName("node-authorizer")}
}

var (
	configMapsResource             = corev1.Resource("configmaps")
	secretsResource                = corev1.Resource("secrets")
	podsResource                   = corev1.Resource("pods")
	nodesResource                  = corev1.Resource("nodes")
	pvcsResource                   = corev1.Resource("persistentvolumeclaims")
	pvsResource                    = corev1.Resource("persistentvolumes")
	serviceAccountsResource        = corev1.Resource("serviceaccounts")
	resourceSlicesResource         = resourcev1.Resource("resourceslices")
	resourceClaimsResource         = resourcev1.Resource("resourceclaims")
	volumeAttachmentsResource      = schema.GroupResource{Group: "storage.k8s.io", Resource: "volumeattachments"}
	csiNodesResource               = schema.GroupResource{Group: "storage.k8s.io", Resource: "csinodes"}
	leasesResource                 = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	podCertificateRequestsResource = schema.GroupResource{Group: "certificates.k8s.io", Resource: "podcertificaterequests"}
)

// Authorize decides a request of a node; for other users it has no opinion.
func (a *Authorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	nodeName, isNode := Identity(attrs.GetUser())
	if !isNode {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if nodeName == "" {
		a.logger.V(1).Info("Denied request of an unnamed node", "user", attrs.GetUser().GetName())
		return authorizer.DecisionNoOpinion, fmt.Sprintf("unknown node for user %q", attrs.GetUser().GetName()), nil
	}
	r := request{a: a, node: nodeName, attrs: attrs}
	if attrs.IsResourceRequest() {
		switch (schema.GroupResource{Group: attrs.GetAPIGroup(), Resource: attrs.GetResource()}) {
		case secretsResource:
			return r.readNamespaced(secretVertex)
		case configMapsResource:
			return r.readNamespaced(configMapVertex)
		case pvcsResource:
			if attrs.GetSubresource() == "status" {
				return r.updateStatus(pvcVertex)
			}
			return r.get(pvcVertex)
		case pvsResource:
			return r.get(pvVertex)
		case resourceClaimsResource:
			return r.get(resourceClaimVertex)
		case volumeAttachmentsResource:
			return r.get(volumeAttachmentVertex)
		case serviceAccountsResource:
			return r.serviceAccount()
		case leasesResource:
			return r.lease()
		case csiNodesResource:
			return r.csiNode()
		case resourceSlicesResource:
			return r.resourceSlice()
		case nodesResource:
			return r.nodeObject()
		case podsResource:
			return r.pod()
		case podCertificateRequestsResource:
			return r.podCertificateRequest()
		}
	}
	if rbac.RulesAllow(attrs, a.rules...) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// ConditionsAwareAuthorize returns Authorize's decision unconditionally: the
// Node authorizer has no conditional decisions.
func (a *Authorizer) ConditionsAwareAuthorize(ctx context.Context, attrs authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(a.Authorize(ctx, attrs))
}

// EvaluateConditions fails closed: the Node authorizer never returns
// conditions to evaluate.
func (a *Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}

// errNoRuleResolution is RulesFor's answer for nodes, whose permissions
// depend on the objects named and cannot be listed.
var errNoRuleResolution = errors.New("node authorizer does not support user rule resolution")

// RulesFor lists no rules. For a node it says the list is incomplete.
func (a *Authorizer) RulesFor(_ context.Context, u user.Info, _ string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	if _, isNode := Identity(u); isNode {
		return nil, nil, true, errNoRuleResolution
	}
	return nil, nil, false, nil
}

// request is one node request being decided.
type request struct {
	a     *Authorizer
	node  string
	attrs authorizer.Attributes
}

func (r request) allow() (authorizer.Decision, string, error) {
	return authorizer.DecisionAllow, "", nil
}

// deny has no opinion, giving reason, and logs the request.
func (r request) deny(reason string) (authorizer.Decision, string, error) {
	r.a.logger.V(1).Info("Node request denied", "node", r.node, "verb", r.attrs.GetVerb(),
		"group", r.attrs.GetAPIGroup(), "resource", r.attrs.GetResource(), "subresource", r.attrs.GetSubresource(),
		"namespace", r.attrs.GetNamespace(), "name", r.attrs.GetName(), "reason", reason)
	return authorizer.DecisionNoOpinion, reason, nil
}

func (r request) noRelationship() string {
	return fmt.Sprintf("no relationship found between node '%s' and this object", r.node)
}

// related allows the request when the named object leads to the node in
// the graph.
func (r request) related(kind vertexKind) (authorizer.Decision, string, error) {
	name := r.attrs.GetName()
	if name == "" {
		return r.deny("No Object name found")
	}
	if !r.a.synced() {
		return r.deny(reasonNotSynced)
	}
	ok, why := r.a.graph.leadsTo(r.node, kind, r.attrs.GetNamespace(), name)
	if !ok {
		r.a.logger.V(1).Info("No graph relationship", "node", r.node, "detail", why)
		return r.deny(r.noRelationship())
	}
	return r.allow()
}

// get allows get of a single related object.
func (r request) get(kind vertexKind) (authorizer.Decision, string, error) {
	if r.attrs.GetVerb() != "get" {
		return r.deny("can only get individual resources of this type")
	}
	if r.attrs.GetSubresource() != "" {
		return r.deny("cannot get subresource")
	}
	return r.related(kind)
}

// readNamespaced allows get, list and watch of a single related namespaced
// object (list and watch by metadata.name).
func (r request) readNamespaced(kind vertexKind) (authorizer.Decision, string, error) {
	switch r.attrs.GetVerb() {
	case "get", "list", "watch":
	default:
		return r.deny("can only read resources of this type")
	}
	if r.attrs.GetSubresource() != "" {
		return r.deny("cannot read subresource")
	}
	if r.attrs.GetNamespace() == "" {
		return r.deny("can only read namespaced object of this type")
	}
	return r.related(kind)
}

// updateStatus allows update and patch of a related object's status.
func (r request) updateStatus(kind vertexKind) (authorizer.Decision, string, error) {
	switch r.attrs.GetVerb() {
	case "update", "patch":
	default:
		return r.deny("can only get/update/patch this type")
	}
	if r.attrs.GetSubresource() != "status" {
		return r.deny("can only update status subresource")
	}
	return r.related(kind)
}

// serviceAccount allows get of the service accounts of the node's pods
// (for image credential providers) and creating their tokens.
func (r request) serviceAccount() (authorizer.Decision, string, error) {
	if r.attrs.GetVerb() == "get" && r.attrs.GetSubresource() == "" {
		return r.readNamespaced(serviceAccountVertex)
	}
	if r.attrs.GetVerb() != "create" || r.attrs.GetName() == "" {
		return r.deny("can only create tokens for individual service accounts")
	}
	if r.attrs.GetSubresource() != "token" {
		return r.deny("can only create token subresource of serviceaccount")
	}
	return r.related(serviceAccountVertex)
}

// lease allows a node its own Lease in kube-node-lease. The name of a
// create is checked by NodeRestriction.
func (r request) lease() (authorizer.Decision, string, error) {
	verb := r.attrs.GetVerb()
	switch verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return r.deny("can only get, create, update, patch, or delete a node lease")
	}
	if r.attrs.GetNamespace() != corev1.NamespaceNodeLease {
		return r.deny(fmt.Sprintf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease))
	}
	if verb != "create" && r.attrs.GetName() != r.node {
		return r.deny("can only access node lease with the same name as the requesting node")
	}
	return r.allow()
}

// csiNode allows a node its own CSINode. The name of a create is checked by
// NodeRestriction.
func (r request) csiNode() (authorizer.Decision, string, error) {
	verb := r.attrs.GetVerb()
	switch verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return r.deny("can only get, create, update, patch, or delete a CSINode")
	}
	if r.attrs.GetSubresource() != "" {
		return r.deny("cannot authorize CSINode subresources")
	}
	if verb != "create" && r.attrs.GetName() != r.node {
		return r.deny("can only access CSINode with the same name as the requesting node")
	}
	return r.allow()
}

// hasFieldSelector reports whether the request selects field == the node's
// name.
func (r request) hasFieldSelector(field string) bool {
	reqs, _ := r.attrs.GetFieldSelector()
	for _, req := range reqs {
		if req.Field == field && req.Operator == selection.Equals && req.Value == r.node {
			return true
		}
	}
	return false
}

// resourceSlice allows a node the ResourceSlices of its node: creates
// (NodeRestriction checks spec.nodeName), reads and writes of slices the graph
// ties to it, and lists selecting spec.nodeName.
func (r request) resourceSlice() (authorizer.Decision, string, error) {
	if r.attrs.GetSubresource() != "" {
		return r.deny("cannot authorize ResourceSlice subresources")
	}
	switch r.attrs.GetVerb() {
	case "create":
		return r.allow()
	case "get", "update", "patch", "delete":
		return r.related(resourceSliceVertex)
	case "watch", "list", "deletecollection":
		if r.hasFieldSelector(resourcev1.ResourceSliceSelectorNodeName) {
			return r.allow()
		}
		return r.deny("can only list/watch/deletecollection resourceslices with nodeName field selector")
	}
	return r.deny("only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection")
}

// podCertificateRequest allows a node to create PodCertificateRequests
// (NodeRestriction checks that they are for its own pods), get those the
// graph ties to it, and list and watch those selecting its spec.nodeName;
// never their status, which signers write.
func (r request) podCertificateRequest() (authorizer.Decision, string, error) {
	if r.attrs.GetSubresource() != "" {
		return r.deny("nodes may not access the status subresource of PodCertificateRequests")
	}
	switch verb := r.attrs.GetVerb(); verb {
	case "create":
		return r.allow()
	case "get":
		return r.related(podCertificateRequestVertex)
	case "list", "watch":
		if r.hasFieldSelector("spec.nodeName") {
			return r.allow()
		}
		return r.deny("can only list/watch podcertificaterequests with nodeName field selector")
	default:
		return r.deny(fmt.Sprintf("nodes may not %s podcertificaterequests", verb))
	}
}

// nodeObject allows a node to read its own Node object (by name, so that it
// may look before registering) and to create and update Nodes, which
// NodeRestriction limits to its own.
func (r request) nodeObject() (authorizer.Decision, string, error) {
	verb := r.attrs.GetVerb()
	switch r.attrs.GetSubresource() {
	case "":
		switch verb {
		case "create", "update", "patch":
			return r.allow()
		case "get", "list", "watch":
			switch name := r.attrs.GetName(); name {
			case r.node:
				return r.allow()
			case "":
				return r.deny(fmt.Sprintf("node '%s' cannot read all nodes, only its own Node object", r.node))
			default:
				return r.deny(fmt.Sprintf("node '%s' cannot read '%s', only its own Node object", r.node, name))
			}
		}
	case "status":
		if verb == "update" || verb == "patch" {
			return r.allow()
		}
	}
	return r.deny("")
}

// pod allows a node to read the pods bound to it (listing with a
// spec.nodeName selector), to create and delete mirror pods, to write pod
// status and to evict; NodeRestriction limits the writes to its own pods.
func (r request) pod() (authorizer.Decision, string, error) {
	verb := r.attrs.GetVerb()
	switch r.attrs.GetSubresource() {
	case "":
		switch verb {
		case "get":
			return r.get(podVertex)
		case "list", "watch":
			if r.hasFieldSelector("spec.nodeName") {
				return r.allow()
			}
			if r.attrs.GetName() != "" {
				return r.related(podVertex)
			}
			return r.deny("can only list/watch pods with spec.nodeName field selector")
		case "create", "delete":
			return r.allow()
		}
	case "status":
		if verb == "update" || verb == "patch" {
			return r.allow()
		}
	case "eviction":
		if verb == "create" {
			return r.allow()
		}
	}
	return r.deny("")
}
