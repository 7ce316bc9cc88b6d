package printers

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
)

var csrSpecDoc = certificatesv1beta1.CertificateSigningRequestSpec{}.SwaggerDoc()

var certificateSigningRequests = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	ageColumn,
	{Name: "SignerName", Type: "string", Description: csrSpecDoc["signerName"]},
	{Name: "Requestor", Type: "string", Description: csrSpecDoc["request"]},
	{Name: "RequestedDuration", Type: "string", Description: csrSpecDoc["expirationSeconds"]},
	{Name: "Condition", Type: "string", Description: certificatesv1beta1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]},
}, rowsOf(func(csr *certificatesv1.CertificateSigningRequest, now time.Time) (metav1.TableRow, error) {
	requested := none
	if s := csr.Spec.ExpirationSeconds; s != nil {
		requested = duration.HumanDuration(time.Duration(*s) * time.Second)
	}
	return cells(csr.Name, since(csr.CreationTimestamp, now), orNone(csr.Spec.SignerName), csr.Spec.Username, requested, csrCondition(csr))
}))

// csrCondition is Denied, Approved or Pending (in that precedence), then
// ",Failed" and ",Issued" when they apply.
func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	status := "Pending"
	if denied {
		status = "Denied"
	} else if approved {
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}

// clusterTrustBundles, as upstream: NAME and SIGNERNAME, no AGE.
var clusterTrustBundles = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "SignerName", Type: "string", Description: certificatesv1beta1.ClusterTrustBundleSpec{}.SwaggerDoc()["signerName"]},
}, rowsOf(func(b *certificatesv1.ClusterTrustBundle, _ time.Time) (metav1.TableRow, error) {
	return cells(b.Name, orNone(b.Spec.SignerName))
}))

var pcrSpecDoc = certificatesv1beta1.PodCertificateRequestSpec{}.SwaggerDoc()

// podCertificateRequests, as upstream (which prints the annotations
// without a priority, and, being server-side, always wide).
var podCertificateRequests = newPrinter([]metav1.TableColumnDefinition{
	nameColumn,
	{Name: "PodName", Type: "string", Description: pcrSpecDoc["podName"]},
	{Name: "ServiceAccountName", Type: "string", Description: pcrSpecDoc["serviceAccountName"]},
	{Name: "NodeName", Type: "string", Description: pcrSpecDoc["nodeName"]},
	{Name: "SignerName", Type: "string", Description: pcrSpecDoc["signerName"]},
	{Name: "State", Type: "string", Description: "Is the request Pending, Issued, Denied, or Failed?"},
	{Name: "UnverifiedUserAnnotations", Type: "string", Description: pcrSpecDoc["unverifiedUserAnnotations"]},
}, rowsOf(func(r *certificatesv1.PodCertificateRequest, _ time.Time) (metav1.TableRow, error) {
	// Issued, Denied and Failed exclude each other (validation).
	state := "Pending"
	for _, c := range r.Status.Conditions {
		switch c.Type {
		case certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed:
			state = c.Type
		}
	}
	return cells(r.Name, r.Spec.PodName, r.Spec.ServiceAccountName, string(r.Spec.NodeName), r.Spec.SignerName, state,
		labels.FormatLabels(r.Spec.UnverifiedUserAnnotations))
}))
