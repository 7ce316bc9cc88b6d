package printers

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
