package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/spf13/pflag"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	apiserver "github.com/skiff-dev/skiff/apiserver/server"
	"github.com/skiff-dev/skiff/apiserver/testserver"
)

// csrRequest is a PEM certificate request for CN "csr-user" in orgs.
func csrRequest(t *testing.T, orgs ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "csr-user", Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// selfSignedPEM is a certificate a signer could put in status.certificate.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "csr-user"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// grantCSRUpdater lets user get CSRs and update their approval and status
// subresources (what RBAC checks before admission), plus approve and sign
// on the signers named; it returns the user's client once RBAC lets it get
// CSRs (the whole role is then in the authorizer's informers).
func grantCSRUpdater(t *testing.T, s *testserver.TestServer, user string, signers ...string) kubernetes.Interface {
	t.Helper()
	ctx := context.Background()
	admin := s.Client()
	rules := []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"certificatesigningrequests"}},
		{Verbs: []string{"update"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"certificatesigningrequests/approval", "certificatesigningrequests/status"}},
	}
	if len(signers) > 0 {
		rules = append(rules, rbacv1.PolicyRule{Verbs: []string{"approve", "sign"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"signers"}, ResourceNames: signers})
	}
	name := "csradm-" + user
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	c := userClientOf(t, s, user)
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("%s never got list on certificatesigningrequests", user)
	}
	return c
}

// newCSR creates, as admin, a client-auth CSR for signer, deleted at the end.
func newCSR(t *testing.T, s *testserver.TestServer, signer string, orgs ...string) (*certificatesv1.CertificateSigningRequest, error) {
	t.Helper()
	csr, err := s.Client().CertificatesV1().CertificateSigningRequests().Create(context.Background(), &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "csradm-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: signer, Request: csrRequest(t, orgs...),
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}, metav1.CreateOptions{})
	if err == nil {
		t.Cleanup(func() {
			_ = s.Client().CertificatesV1().CertificateSigningRequests().Delete(context.Background(), csr.Name, metav1.DeleteOptions{})
		})
	}
	return csr, err
}

func withCondition(csr *certificatesv1.CertificateSigningRequest, typ certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequest {
	csr = csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: typ, Status: corev1.ConditionTrue, Reason: "Test", Message: "by the integration test",
	})
	return csr
}

// decide updates the CSR's approval as c: approve or deny.
func decide(c kubernetes.Interface, csr *certificatesv1.CertificateSigningRequest, typ certificatesv1.RequestConditionType) error {
	_, err := c.CertificatesV1().CertificateSigningRequests().UpdateApproval(context.Background(), csr.Name, withCondition(csr, typ), metav1.UpdateOptions{})
	return err
}

// issue approves the CSR as admin and then sets its certificate as c.
func issue(t *testing.T, s *testserver.TestServer, c kubernetes.Interface, csr *certificatesv1.CertificateSigningRequest) error {
	t.Helper()
	ctx := context.Background()
	approved, err := s.Client().CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, withCondition(csr, certificatesv1.CertificateApproved), metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("admin approving %s: %v", csr.Name, err)
	}
	approved.Status.Certificate = selfSignedPEM(t)
	_, err = c.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, approved, metav1.UpdateOptions{})
	return err
}

func TestAdmissionCertificateApprovalAndSigning(t *testing.T) {
	users := map[string]kubernetes.Interface{
		"admin":       server.Client(), // system:masters
		"csr-nobody":  grantCSRUpdater(t, server, "csr-nobody"),
		"csr-exact":   grantCSRUpdater(t, server, "csr-exact", "example.com/foo"),
		"csr-domain":  grantCSRUpdater(t, server, "csr-domain", "example.com/*"),
		"csr-another": grantCSRUpdater(t, server, "csr-another", "example.com/bar"),
		"csr-k8s":     grantCSRUpdater(t, server, "csr-k8s", "kubernetes.io/*"),
	}
	const (
		approve = "approve"
		deny    = "deny"
		sign    = "sign"
	)
	tests := []struct {
		user, action, signer string
		wantErr              string // "" means allowed
	}{
		{user: "csr-nobody", action: approve, signer: "example.com/foo", wantErr: `user not permitted to approve requests with signerName "example.com/foo"`},
		{user: "csr-nobody", action: deny, signer: "example.com/foo", wantErr: `user not permitted to approve requests with signerName "example.com/foo"`},
		{user: "csr-nobody", action: sign, signer: "example.com/foo", wantErr: `user not permitted to sign requests with signerName "example.com/foo"`},
		{user: "csr-exact", action: approve, signer: "example.com/foo"},
		{user: "csr-exact", action: deny, signer: "example.com/foo"},
		{user: "csr-exact", action: sign, signer: "example.com/foo"},
		{user: "csr-exact", action: approve, signer: "example.com/baz", wantErr: `user not permitted to approve requests with signerName "example.com/baz"`},
		{user: "csr-exact", action: sign, signer: "example.com/baz", wantErr: `user not permitted to sign requests with signerName "example.com/baz"`},
		{user: "csr-domain", action: approve, signer: "example.com/baz"},
		{user: "csr-domain", action: sign, signer: "example.com/baz"},
		{user: "csr-domain", action: approve, signer: "example.org/baz", wantErr: `user not permitted to approve requests with signerName "example.org/baz"`},
		{user: "csr-another", action: approve, signer: "example.com/foo", wantErr: `user not permitted to approve requests with signerName "example.com/foo"`},
		{user: "csr-another", action: sign, signer: "example.com/foo", wantErr: `user not permitted to sign requests with signerName "example.com/foo"`},
		{user: "csr-k8s", action: approve, signer: certificatesv1.KubeAPIServerClientSignerName},
		{user: "csr-nobody", action: approve, signer: certificatesv1.KubeAPIServerClientSignerName, wantErr: `user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"`},
		{user: "admin", action: approve, signer: "example.com/foo"},
		{user: "admin", action: sign, signer: "example.com/foo"},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.action+" "+tt.signer, func(t *testing.T) {
			csr, err := newCSR(t, server, tt.signer, "dev")
			if err != nil {
				t.Fatal(err)
			}
			c := users[tt.user]
			switch tt.action {
			case approve:
				err = decide(c, csr, certificatesv1.CertificateApproved)
			case deny:
				err = decide(c, csr, certificatesv1.CertificateDenied)
			case sign:
				err = issue(t, server, c, csr)
			}
			got, getErr := server.Client().CertificatesV1().CertificateSigningRequests().Get(context.Background(), csr.Name, metav1.GetOptions{})
			if getErr != nil {
				t.Fatal(getErr)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("%s: %v, want allowed", tt.action, err)
				}
				if tt.action == sign && len(got.Status.Certificate) == 0 || tt.action != sign && len(got.Status.Conditions) != 1 {
					t.Fatalf("allowed %s left the CSR without its result: %+v", tt.action, got.Status)
				}
				return
			}
			wantForbidden(t, err, tt.wantErr)
			if len(got.Status.Certificate) != 0 || tt.action != sign && len(got.Status.Conditions) != 0 {
				t.Fatalf("forbidden %s changed the CSR: %+v", tt.action, got.Status)
			}
		})
	}
}

func TestAdmissionCertificateSubjectRestriction(t *testing.T) {
	tests := []struct {
		name, signer string
		orgs         []string
		wantErr      string
	}{
		{name: "kube-apiserver-client for system:masters", signer: certificatesv1.KubeAPIServerClientSignerName, orgs: []string{"dev", "system:masters"},
			wantErr: "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"},
		{name: "kube-apiserver-client for other groups", signer: certificatesv1.KubeAPIServerClientSignerName, orgs: []string{"dev"}},
		{name: "another signer for system:masters", signer: "example.com/foo", orgs: []string{"system:masters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Even the admin (system:masters) may not ask for it.
			_, err := newCSR(t, server, tt.signer, tt.orgs...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("create: %v, want allowed", err)
				}
				return
			}
			wantForbidden(t, err, tt.wantErr)
		})
	}
}

// boundClaim creates a claim of class with a 1Gi request and marks it
// bound, as the PV controller would.
func boundClaim(t *testing.T, c kubernetes.Interface, ns, class string) *corev1.PersistentVolumeClaim {
	t.Helper()
	ctx := context.Background()
	pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: class},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(class),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: pvc.Spec.AccessModes,
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}
	pvc, err = c.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pvc
}

// grow asks for 2Gi, retrying only conflicts.
func grow(c kubernetes.Interface, ns, name string) error {
	ctx := context.Background()
	for {
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		_, err = c.CoreV1().PersistentVolumeClaims(ns).Update(ctx, pvc, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

// storageClasses creates the classes csradm-expandable (allowVolumeExpansion
// true) and csradm-fixed (false) and waits until growing a claim of the
// expandable one is allowed, i.e. admission's informer has both.
func storageClasses(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	for name, allow := range map[string]bool{"csradm-fixed": false, "csradm-expandable": true} {
		_, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "example.com/csradm", AllowVolumeExpansion: ptr.To(allow),
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	boundClaim(t, c, ns, "csradm-expandable")
	var err error
	if werr := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		err = grow(c, ns, "csradm-expandable")
		return err == nil, nil
	}); werr != nil {
		t.Fatalf("growing a bound claim of an expandable class: %v", err)
	}
}

func TestAdmissionPersistentVolumeClaimResize(t *testing.T) {
	ns := newNamespace(t)
	c := server.Client()
	storageClasses(t, c, ns) // the expandable claim grew
	boundClaim(t, c, ns, "csradm-fixed")
	wantForbidden(t, grow(c, ns, "csradm-fixed"),
		"only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")
	got, err := c.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "csradm-fixed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "1Gi" {
		t.Errorf("forbidden resize left request %s, want 1Gi", q.String())
	}
}

// TestAdmissionPluginsCanBeDisabled runs a server with
// --disable-admission-plugins naming the four plugins: what they forbid on
// the shared server is then allowed.
func TestAdmissionPluginsCanBeDisabled(t *testing.T) {
	const disabled = "CertificateApproval,CertificateSigning,CertificateSubjectRestriction,PersistentVolumeClaimResize"
	var flagErr error
	s, err := testserver.Start(testserver.Options{Customize: func(o *apiserver.Options) {
		fs := pflag.NewFlagSet("admission", pflag.ContinueOnError)
		o.Admission.AddFlags(fs)
		flagErr = fs.Parse([]string{"--disable-admission-plugins=" + disabled})
	}})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	defer s.Stop()
	if flagErr != nil {
		t.Fatal(flagErr)
	}
	ctx := context.Background()
	admin := s.Client()

	nobody := grantCSRUpdater(t, s, "csr-nobody")
	csr, err := newCSR(t, s, "example.com/foo", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := decide(nobody, csr, certificatesv1.CertificateApproved); err != nil {
		t.Errorf("approving without approve on the signer, CertificateApproval disabled: %v", err)
	}
	csr, err = newCSR(t, s, "example.com/foo", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := issue(t, s, nobody, csr); err != nil {
		t.Errorf("signing without sign on the signer, CertificateSigning disabled: %v", err)
	}
	if _, err := newCSR(t, s, certificatesv1.KubeAPIServerClientSignerName, "system:masters"); err != nil {
		t.Errorf("system:masters client CSR, CertificateSubjectRestriction disabled: %v", err)
	}
	ns, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	storageClasses(t, admin, ns.Name)
	boundClaim(t, admin, ns.Name, "csradm-fixed")
	if err := grow(admin, ns.Name, "csradm-fixed"); err != nil {
		t.Errorf("growing a claim of a fixed class, PersistentVolumeClaimResize disabled: %v", err)
	}
}
