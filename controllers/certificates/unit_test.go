package certificates

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type reqOpts struct {
	cn     string
	org    []string
	dns    []string
	ips    []net.IP
	emails []string
	uris   []*url.URL
}

func makeRequest(t *testing.T, o reqOpts) (*ecdsa.PrivateKey, []byte, *x509.CertificateRequest) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: o.cn, Organization: o.org}, DNSNames: o.dns, IPAddresses: o.ips, EmailAddresses: o.emails, URIs: o.uris,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), req
}

var (
	ds       = certificatesv1.UsageDigitalSignature
	ke       = certificatesv1.UsageKeyEncipherment
	ca       = certificatesv1.UsageClientAuth
	sa       = certificatesv1.UsageServerAuth
	anyUsage = certificatesv1.UsageAny
)

func usages(u ...certificatesv1.KeyUsage) []certificatesv1.KeyUsage { return u }

func TestValidators(t *testing.T) {
	node := reqOpts{cn: "system:node:n1", org: []string{"system:nodes"}}
	withSANs := node
	withSANs.dns = []string{"n1.example"}
	withIP := node
	withIP.ips = []net.IP{net.ParseIP("10.0.0.1")}
	withEmail := withSANs
	withEmail.emails = []string{"a@example.com"}
	wrongOrg := reqOpts{cn: "system:node:n1", org: []string{"system:nodes", "extra"}}
	wrongCN := reqOpts{cn: "n1", org: []string{"system:nodes"}}
	u, _ := url.Parse("spiffe://x")
	withURI := withSANs
	withURI.uris = []*url.URL{u}
	tests := []struct {
		name   string
		signer string
		req    reqOpts
		usages []certificatesv1.KeyUsage
		ok     bool
	}{
		{"client: minimal", certificatesv1.KubeAPIServerClientKubeletSignerName, node, usages(ds, ca), true},
		{"client: with key encipherment", certificatesv1.KubeAPIServerClientKubeletSignerName, node, usages(ke, ds, ca), true},
		{"client: missing digital signature", certificatesv1.KubeAPIServerClientKubeletSignerName, node, usages(ca), false},
		{"client: server auth", certificatesv1.KubeAPIServerClientKubeletSignerName, node, usages(ds, ca, sa), false},
		{"client: DNS SAN", certificatesv1.KubeAPIServerClientKubeletSignerName, withSANs, usages(ds, ca), false},
		{"client: IP SAN", certificatesv1.KubeAPIServerClientKubeletSignerName, withIP, usages(ds, ca), false},
		{"client: extra organization", certificatesv1.KubeAPIServerClientKubeletSignerName, wrongOrg, usages(ds, ca), false},
		{"client: CN not a node", certificatesv1.KubeAPIServerClientKubeletSignerName, wrongCN, usages(ds, ca), false},
		{"serving: DNS", certificatesv1.KubeletServingSignerName, withSANs, usages(ds, sa), true},
		{"serving: IP and key encipherment", certificatesv1.KubeletServingSignerName, withIP, usages(ds, ke, sa), true},
		{"serving: no SANs", certificatesv1.KubeletServingSignerName, node, usages(ds, sa), false},
		{"serving: email", certificatesv1.KubeletServingSignerName, withEmail, usages(ds, sa), false},
		{"serving: URI", certificatesv1.KubeletServingSignerName, withURI, usages(ds, sa), false},
		{"serving: client auth", certificatesv1.KubeletServingSignerName, withSANs, usages(ds, sa, ca), false},
		{"apiserver-client: any subject", certificatesv1.KubeAPIServerClientSignerName, reqOpts{cn: "alice"}, usages(ca), true},
		{"apiserver-client: all client usages", certificatesv1.KubeAPIServerClientSignerName, reqOpts{cn: "alice"}, usages(ds, ke, ca), true},
		{"apiserver-client: server auth", certificatesv1.KubeAPIServerClientSignerName, reqOpts{cn: "alice"}, usages(ca, sa), false},
		{"legacy-unknown: anything", LegacyUnknownSignerName, reqOpts{cn: "x"}, usages(anyUsage, sa), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, req := makeRequest(t, tc.req)
			err := signerValidators[tc.signer](req, usageSet(tc.usages))
			if (err == nil) != tc.ok {
				t.Errorf("validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		requested *int32
		want      time.Duration
	}{
		{nil, 24 * time.Hour},
		{ptr.To[int32](3600), time.Hour},
		{ptr.To[int32](60), 10 * time.Minute},
		{ptr.To[int32](7 * 24 * 3600), 24 * time.Hour},
	}
	for _, tc := range tests {
		if got := duration(24*time.Hour, tc.requested); got != tc.want {
			t.Errorf("duration(%v) = %s, want %s", tc.requested, got, tc.want)
		}
	}
}

func testCA(t *testing.T, notAfter time.Time) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: t0.Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, SubjectKeyId: []byte{9}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key}
}

func TestSign(t *testing.T) {
	authority := testCA(t, t0.Add(48*time.Hour))
	tests := []struct {
		name         string
		usages       []certificatesv1.KeyUsage
		ttl          time.Duration
		wantKU       x509.KeyUsage
		wantExt      []x509.ExtKeyUsage
		wantNotAfter time.Time
		wantErr      bool
	}{
		{"client", usages(ds, ke, ca), time.Hour, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, t0.Add(time.Hour), false},
		{"server and client, sorted", usages(ca, sa, ds), time.Hour, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, t0.Add(time.Hour), false},
		{"capped at the CA's expiry", usages(ds, ca), 1000 * time.Hour, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, t0.Add(48 * time.Hour), false},
		{"unknown usage", usages("bogus"), time.Hour, 0, nil, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, _, req := makeRequest(t, reqOpts{cn: "alice", dns: []string{"a.example"}})
			out, err := authority.Sign(req, tc.usages, tc.ttl, t0)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Sign err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			block, _ := pem.Decode(out)
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(authority.Cert); err != nil {
				t.Errorf("not signed by the CA: %v", err)
			}
			if !key.PublicKey.Equal(cert.PublicKey) || cert.Subject.CommonName != "alice" || len(cert.DNSNames) != 1 {
				t.Errorf("certificate does not carry the request: %s %v", cert.Subject, cert.DNSNames)
			}
			if cert.KeyUsage != tc.wantKU {
				t.Errorf("key usage = %v, want %v", cert.KeyUsage, tc.wantKU)
			}
			if len(cert.ExtKeyUsage) != len(tc.wantExt) {
				t.Fatalf("ext key usage = %v, want %v", cert.ExtKeyUsage, tc.wantExt)
			}
			for i := range tc.wantExt {
				if cert.ExtKeyUsage[i] != tc.wantExt[i] {
					t.Errorf("ext key usage = %v, want %v", cert.ExtKeyUsage, tc.wantExt)
				}
			}
			if !cert.NotBefore.Equal(t0.Add(-backdate)) || !cert.NotAfter.Equal(tc.wantNotAfter) {
				t.Errorf("validity %s..%s, want %s..%s", cert.NotBefore, cert.NotAfter, t0.Add(-backdate), tc.wantNotAfter)
			}
			if cert.IsCA || string(cert.AuthorityKeyId) != string(authority.Cert.SubjectKeyId) {
				t.Errorf("IsCA=%v authorityKeyId=%x", cert.IsCA, cert.AuthorityKeyId)
			}
		})
	}
	if _, err := testCA(t, t0.Add(-time.Minute)).Sign(&x509.CertificateRequest{}, nil, time.Hour, t0); err == nil {
		t.Error("an expired CA signed")
	}
}

func csrWith(created time.Time, cert []byte, conds ...certificatesv1.CertificateSigningRequestCondition) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "c", CreationTimestamp: metav1.NewTime(created)},
		Status:     certificatesv1.CertificateSigningRequestStatus{Conditions: conds, Certificate: cert},
	}
}

func condAt(typ certificatesv1.RequestConditionType, at time.Time) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue, LastUpdateTime: metav1.NewTime(at)}
}

func TestExpiry(t *testing.T) {
	authority := testCA(t, t0.Add(100*time.Hour))
	_, _, req := makeRequest(t, reqOpts{cn: "x"})
	shortCert, err := authority.Sign(req, usages(ca), 30*time.Minute, t0)
	if err != nil {
		t.Fatal(err)
	}
	longCert, err := authority.Sign(req, usages(ca), 10*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		csr    *certificatesv1.CertificateSigningRequest
		want   time.Time
		wantOK bool
	}{
		{"pending: a day after creation", csrWith(t0, nil), t0.Add(24 * time.Hour), true},
		{"denied: an hour after", csrWith(t0, nil, condAt(certificatesv1.CertificateDenied, t0.Add(time.Minute))), t0.Add(time.Hour + time.Minute), true},
		{"failed: an hour after", csrWith(t0, nil, condAt(certificatesv1.CertificateApproved, t0), condAt(certificatesv1.CertificateFailed, t0.Add(2*time.Minute))), t0.Add(time.Hour + 2*time.Minute), true},
		{"approved and issued: an hour after approval", csrWith(t0, longCert, condAt(certificatesv1.CertificateApproved, t0)), t0.Add(time.Hour), true},
		{"issued certificate expires first", csrWith(t0, shortCert, condAt(certificatesv1.CertificateApproved, t0)), t0.Add(30 * time.Minute), true},
		{"approved, not issued: kept", csrWith(t0, nil, condAt(certificatesv1.CertificateApproved, t0)), time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, why := expiry(tc.csr)
			if (why != "") != tc.wantOK || (tc.wantOK && !at.Equal(tc.want)) {
				t.Errorf("expiry = %s (%q), want %s ok=%v", at, why, tc.want, tc.wantOK)
			}
		})
	}
}

func TestCleanerReconcile(t *testing.T) {
	old := csrWith(t0.Add(-48*time.Hour), nil)
	old.Name = "old"
	young := csrWith(t0.Add(-time.Hour), nil)
	young.Name = "young"
	c := ctrlfake.NewClientBuilder().WithObjects(old, young).Build()
	r := &cleaner{client: c, now: func() time.Time { return t0 }}
	if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKey{Name: "old"}}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKey{Name: "young"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != 23*time.Hour {
		t.Errorf("young CSR requeued after %s, want 23h", res.RequeueAfter)
	}
	var list certificatesv1.CertificateSigningRequestList
	if err := c.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "young" {
		t.Errorf("left %v, want only young", list.Items)
	}
}

func TestApprover(t *testing.T) {
	_, nodeReq, _ := makeRequest(t, reqOpts{cn: "system:node:n1", org: []string{"system:nodes"}})
	_, otherReq, _ := makeRequest(t, reqOpts{cn: "alice"})
	kubeletCSR := func(user string, req []byte, signer string) *certificatesv1.CertificateSigningRequest {
		return &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "c"},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: req, SignerName: signer, Username: user,
				Groups: []string{"system:bootstrappers"}, Usages: usages(ds, ca)},
		}
	}
	tests := []struct {
		name        string
		csr         *certificatesv1.CertificateSigningRequest
		allow       map[string]bool // subresource -> allowed
		wantSARs    []string
		wantMessage string
		wantRequeue bool
	}{
		{"bootstrapper allowed nodeclient", kubeletCSR("system:bootstrap:abc", nodeReq, certificatesv1.KubeAPIServerClientKubeletSignerName),
			map[string]bool{"nodeclient": true}, []string{"nodeclient"}, MessageAutoApproved, false},
		{"node renewing itself", kubeletCSR("system:node:n1", nodeReq, certificatesv1.KubeAPIServerClientKubeletSignerName),
			map[string]bool{"selfnodeclient": true}, []string{"selfnodeclient"}, MessageAutoApprovedSelf, false},
		{"node allowed only nodeclient falls through to it", kubeletCSR("system:node:n1", nodeReq, certificatesv1.KubeAPIServerClientKubeletSignerName),
			map[string]bool{"nodeclient": true}, []string{"selfnodeclient", "nodeclient"}, MessageAutoApproved, false},
		{"not allowed: left pending, retried", kubeletCSR("system:bootstrap:abc", nodeReq, certificatesv1.KubeAPIServerClientKubeletSignerName),
			nil, []string{"nodeclient"}, "", true},
		{"other signer: not looked at", kubeletCSR("system:bootstrap:abc", nodeReq, certificatesv1.KubeletServingSignerName),
			map[string]bool{"nodeclient": true}, nil, "", false},
		{"not a node certificate", kubeletCSR("system:bootstrap:abc", otherReq, certificatesv1.KubeAPIServerClientKubeletSignerName),
			map[string]bool{"nodeclient": true}, nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset(tc.csr.DeepCopy())
			var sars []string
			cs.PrependReactor("create", "subjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
				sar := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
				ra := sar.Spec.ResourceAttributes
				if sar.Spec.User != tc.csr.Spec.Username || ra.Resource != "certificatesigningrequests" || ra.Verb != "create" || ra.Group != "certificates.k8s.io" {
					t.Errorf("unexpected SAR %+v", sar.Spec)
				}
				sars = append(sars, ra.Subresource)
				sar.Status.Allowed = tc.allow[ra.Subresource]
				return true, sar, nil
			})
			reader := ctrlfake.NewClientBuilder().WithObjects(tc.csr.DeepCopy()).Build()
			r := &approver{reader: reader, client: cs}
			res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKey{Name: "c"}})
			if err != nil {
				t.Fatal(err)
			}
			if (res.RequeueAfter > 0) != tc.wantRequeue {
				t.Errorf("requeue = %s, want %v", res.RequeueAfter, tc.wantRequeue)
			}
			if len(sars) != len(tc.wantSARs) || (len(sars) > 0 && sars[0] != tc.wantSARs[0]) {
				t.Errorf("SARs %v, want %v", sars, tc.wantSARs)
			}
			got, err := cs.CertificatesV1().CertificateSigningRequests().Get(context.Background(), "c", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c := condition(got, certificatesv1.CertificateApproved)
			switch {
			case tc.wantMessage == "" && c != nil:
				t.Errorf("approved: %+v", c)
			case tc.wantMessage != "" && (c == nil || c.Reason != ReasonAutoApproved || c.Message != tc.wantMessage):
				t.Errorf("Approved condition = %+v, want AutoApproved/%q", c, tc.wantMessage)
			}
		})
	}
}
