package defaults

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// addCertificatesDefaults registers upstream's defaults for
// certificates.k8s.io/v1: a PodCertificateRequest's maxExpirationSeconds
// is 86400 (one day) unless set. CertificateSigningRequests have none (v1
// requires usages and the signer name; the requester's identity is filled
// in by the registry strategy, not by defaulting).
func addCertificatesDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&certificatesv1.PodCertificateRequest{}, func(o interface{}) {
		defaultPodCertificateRequest(o.(*certificatesv1.PodCertificateRequest))
	})
	s.AddTypeDefaultingFunc(&certificatesv1.PodCertificateRequestList{}, func(o interface{}) {
		l := o.(*certificatesv1.PodCertificateRequestList)
		for i := range l.Items {
			defaultPodCertificateRequest(&l.Items[i])
		}
	})
}

func defaultPodCertificateRequest(r *certificatesv1.PodCertificateRequest) {
	if r.Spec.MaxExpirationSeconds == nil {
		day := int32(86400)
		r.Spec.MaxExpirationSeconds = &day
	}
}
