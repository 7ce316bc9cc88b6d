package printers

import (
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

func TestCertificateSigningRequestRows(t *testing.T) {
	condition := func(types ...certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
		var cs []certificatesv1.CertificateSigningRequestCondition
		for _, ct := range types {
			cs = append(cs, certificatesv1.CertificateSigningRequestCondition{Type: ct, Status: corev1.ConditionTrue})
		}
		return cs
	}
	csr := func(spec certificatesv1.CertificateSigningRequestSpec, status certificatesv1.CertificateSigningRequestStatus) *certificatesv1.CertificateSigningRequest {
		return &certificatesv1.CertificateSigningRequest{ObjectMeta: objMeta("csr", 10*time.Minute), Spec: spec, Status: status}
	}
	spec := certificatesv1.CertificateSigningRequestSpec{SignerName: "kubernetes.io/kube-apiserver-client", Username: "alice", ExpirationSeconds: ptr.To[int32](86400)}
	testRows(t, schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}, []rowCase{
		{name: "pending", obj: csr(spec, certificatesv1.CertificateSigningRequestStatus{}), cells: []any{"csr", "10m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Pending"}},
		{name: "approved and issued", obj: csr(spec, certificatesv1.CertificateSigningRequestStatus{Conditions: condition(certificatesv1.CertificateApproved), Certificate: []byte("x")}), cells: []any{"csr", "10m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Approved,Issued"}},
		{name: "denied wins over approved", obj: csr(spec, certificatesv1.CertificateSigningRequestStatus{Conditions: condition(certificatesv1.CertificateApproved, certificatesv1.CertificateDenied)}), cells: []any{"csr", "10m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Denied"}},
		{name: "approved and failed", obj: csr(spec, certificatesv1.CertificateSigningRequestStatus{Conditions: condition(certificatesv1.CertificateFailed, certificatesv1.CertificateApproved)}), cells: []any{"csr", "10m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Approved,Failed"}},
		{name: "no signer or duration", obj: csr(certificatesv1.CertificateSigningRequestSpec{Username: "bob"}, certificatesv1.CertificateSigningRequestStatus{}), cells: []any{"csr", "10m", "<none>", "bob", "<none>", "Pending"}},
	})
}

func TestClusterTrustBundleRows(t *testing.T) {
	bundle := func(name, signer string) *certificatesv1.ClusterTrustBundle {
		return &certificatesv1.ClusterTrustBundle{ObjectMeta: objMeta(name, time.Hour), Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: signer}}
	}
	testRows(t, schema.GroupResource{Group: "certificates.k8s.io", Resource: "clustertrustbundles"}, []rowCase{
		{name: "signer", obj: bundle("example.com:foo:v1", "example.com/foo"), cells: []any{"example.com:foo:v1", "example.com/foo"}},
		{name: "no signer", obj: bundle("roots", ""), cells: []any{"roots", "<none>"}},
	})
}

func TestPodCertificateRequestRows(t *testing.T) {
	pcr := func(annotations map[string]string, conditions ...string) *certificatesv1.PodCertificateRequest {
		r := &certificatesv1.PodCertificateRequest{ObjectMeta: objMeta("pcr", time.Hour), Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: "example.com/signer", PodName: "web", ServiceAccountName: "default", NodeName: "node-1", UnverifiedUserAnnotations: annotations}}
		for _, c := range conditions {
			r.Status.Conditions = append(r.Status.Conditions, metav1.Condition{Type: c, Status: metav1.ConditionTrue})
		}
		return r
	}
	testRows(t, schema.GroupResource{Group: "certificates.k8s.io", Resource: "podcertificaterequests"}, []rowCase{
		{name: "pending", obj: pcr(nil), cells: []any{"pcr", "web", "default", "node-1", "example.com/signer", "Pending", "<none>"}},
		{name: "issued", obj: pcr(map[string]string{"example.com/a": "b"}, "Issued"), cells: []any{"pcr", "web", "default", "node-1", "example.com/signer", "Issued", "example.com/a=b"}},
		{name: "denied", obj: pcr(nil, "Denied"), cells: []any{"pcr", "web", "default", "node-1", "example.com/signer", "Denied", "<none>"}},
	})
}
