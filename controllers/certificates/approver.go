package certificates

import (
	"context"
	"fmt"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

const (
	// ReasonAutoApproved and the messages are the Approved condition of a
	// kubelet client CSR the approver approves (a node renewing its own
	// certificate, or one requested for a node, e.g. by a bootstrap token).
	ReasonAutoApproved      = "AutoApproved"
	MessageAutoApproved     = "Auto approving kubelet client certificate after SubjectAccessReview."
	MessageAutoApprovedSelf = "Auto approving self kubelet client certificate after SubjectAccessReview."

	// sarRetry is how soon a recognized but not (yet) authorized request is
	// looked at again: RBAC may be granted later.
	sarRetry = 30 * time.Second
)

// ApprovingDescriptor is the "csrapproving" controller.
var ApprovingDescriptor = controllers.Descriptor{Name: "csrapproving", Setup: SetupApproving}

// SetupApproving registers the CSR approving controller.
func SetupApproving(_ context.Context, c controllers.Context) error {
	r := &approver{reader: c.Manager.GetClient(), client: c.Client}
	err := ctrl.NewControllerManagedBy(c.Manager).
		Named("csrapproving").
		For(&certificatesv1.CertificateSigningRequest{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.Options.Workers()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("csrapproving: %w", err)
	}
	return nil
}

type approver struct {
	reader client.Reader
	client kubernetes.Interface
}

// recognizer is one kind of request the approver knows and the
// certificatesigningrequests subresource whose create permission approves it.
type recognizer struct {
	subresource string
	message     string
	recognize   func(csr *certificatesv1.CertificateSigningRequest) bool
}

var recognizers = []recognizer{
	{subresource: "selfnodeclient", message: MessageAutoApprovedSelf, recognize: isSelfNodeClient},
	{subresource: "nodeclient", message: MessageAutoApproved, recognize: isNodeClient},
}

// isNodeClient: a kubelet client certificate request.
func isNodeClient(csr *certificatesv1.CertificateSigningRequest) bool {
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return false
	}
	req, err := parseCSR(csr.Spec.Request)
	if err != nil {
		return false
	}
	return validateKubeletClient(req, usageSet(csr.Spec.Usages)) == nil
}

// isSelfNodeClient: a node renewing its own client certificate.
func isSelfNodeClient(csr *certificatesv1.CertificateSigningRequest) bool {
	if !isNodeClient(csr) {
		return false
	}
	req, err := parseCSR(csr.Spec.Request)
	return err == nil && csr.Spec.Username == req.Subject.CommonName
}

func (r *approver) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	csr := &certificatesv1.CertificateSigningRequest{}
	if err := r.reader.Get(ctx, req.NamespacedName, csr); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if approved, denied := approvedOrDenied(csr); approved || denied || len(csr.Status.Certificate) > 0 {
		return reconcile.Result{}, nil
	}
	if x509cr, node, ok := isKubeletServing(csr); ok {
		ok, why, err := r.servingSANsAreNodes(ctx, x509cr, node)
		if err != nil {
			return reconcile.Result{}, err
		}
		if !ok {
			// The node may not have reported its addresses yet.
			log.V(2).Info("Not approving kubelet serving CSR", "csr", csr.Name, "node", node, "reason", why)
			return reconcile.Result{RequeueAfter: sarRetry}, nil
		}
		return reconcile.Result{}, r.approve(ctx, csr, MessageAutoApprovedServing)
	}
	tried := []string{}
	for _, rec := range recognizers {
		if !rec.recognize(csr) {
			continue
		}
		tried = append(tried, rec.subresource)
		ok, err := r.authorize(ctx, csr, rec.subresource)
		if err != nil {
			return reconcile.Result{}, err
		}
		if !ok {
			continue
		}
		return reconcile.Result{}, r.approve(ctx, csr, rec.message)
	}
	if len(tried) > 0 {
		log.V(2).Info("Recognized CSR but SubjectAccessReview did not allow it", "csr", csr.Name, "as", tried, "username", csr.Spec.Username)
		return reconcile.Result{RequeueAfter: sarRetry}, nil
	}
	return reconcile.Result{}, nil
}

// authorize asks whether the requester may create the subresource.
func (r *approver) authorize(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, subresource string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   csr.Spec.Username,
		UID:    csr.Spec.UID,
		Groups: csr.Spec.Groups,
		Extra:  extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group:       certificatesv1.GroupName,
			Resource:    "certificatesigningrequests",
			Verb:        "create",
			Version:     "*",
			Subresource: subresource,
		},
	}}
	out, err := r.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review for CSR %s: %w", csr.Name, err)
	}
	return out.Status.Allowed, nil
}

// approve appends the Approved condition through the approval subresource.
func (r *approver) approve(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, message string) error {
	updated := csr.DeepCopy()
	now := metav1.Now()
	updated.Status.Conditions = append(updated.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type:               certificatesv1.CertificateApproved,
		Status:             corev1.ConditionTrue,
		Reason:             ReasonAutoApproved,
		Message:            message,
		LastUpdateTime:     now,
		LastTransitionTime: now,
	})
	if _, err := r.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("approve CSR %s: %w", csr.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Approved CSR", "csr", csr.Name, "signer", csr.Spec.SignerName, "username", csr.Spec.Username)
	return nil
}
