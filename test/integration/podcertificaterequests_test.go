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
	"reflect"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestPodCertificateRequests creates requests (status dropped,
// maxExpirationSeconds defaulted), lists them by spec.nodeName, prints
// them through the Table API, refuses invalid ones and spec changes, and
// lets only a user who may "sign" for the signer issue one through
// /status, after which the status is frozen.
func TestPodCertificateRequests(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	api := server.Client().CertificatesV1().PodCertificateRequests(ns)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stub, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	request := func(name, node string) *certificatesv1.PodCertificateRequest {
		return &certificatesv1.PodCertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.PodCertificateRequestSpec{
				SignerName: "pcrtest.example.com/signer", PodName: "web", PodUID: "pod-uid", ServiceAccountName: "default", ServiceAccountUID: "sa-uid",
				NodeName: types.NodeName("pcrtest-" + node), NodeUID: "node-uid", StubPKCS10Request: stub,
			},
			Status: certificatesv1.PodCertificateRequestStatus{CertificateChain: "forged"},
		}
	}
	created, err := api.Create(ctx, request("web-1", "a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Status.CertificateChain != "" || created.Spec.MaxExpirationSeconds == nil || *created.Spec.MaxExpirationSeconds != 86400 {
		t.Fatalf("created: status %+v, maxExpirationSeconds %v; want empty status and 86400", created.Status, created.Spec.MaxExpirationSeconds)
	}
	if _, err := api.Create(ctx, request("web-2", "b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	list, err := api.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=pcrtest-a,spec.signerName=pcrtest.example.com/signer,spec.podName=web"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "web-1" {
		t.Errorf("list by node: %v %+v, want web-1 only", err, list)
	}
	table := getTable(t, server.Client(), "/apis/certificates.k8s.io/v1/namespaces/"+ns+"/podcertificaterequests", "spec.nodeName=pcrtest-b")
	if got, want := tableColumns(table), []string{"Name", "PodName", "ServiceAccountName", "NodeName", "SignerName", "State", "UnverifiedUserAnnotations"}; !reflect.DeepEqual(got, want) {
		t.Errorf("columns %v, want %v", got, want)
	}
	if len(table.Rows) != 1 || !reflect.DeepEqual(table.Rows[0].Cells, []any{"web-2", "web", "default", "pcrtest-b", "pcrtest.example.com/signer", "Pending", "<none>"}) {
		t.Errorf("rows %+v", table.Rows)
	}

	bad := request("web-bad", "a")
	bad.Spec.StubPKCS10Request, bad.Spec.PodUID = []byte("junk"), ""
	if _, err := api.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) ||
		!strings.Contains(err.Error(), `spec.podUID: Invalid value: "": must not be empty`) ||
		!strings.Contains(err.Error(), `spec.stubPKCS10Request: Invalid value: must be a valid PKCS#10 CSR`) {
		t.Errorf("invalid create: %v", err)
	}
	created.Spec.NodeName = "pcrtest-b"
	if _, err := api.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec: Invalid value:") || !strings.Contains(err.Error(), "field is immutable") {
		t.Errorf("spec change: %v", err)
	}

	// A signer's controller: may write the status, but must also be
	// allowed to sign for the signer.
	admin := server.Client()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "pcrtest-signer"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get", "update"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"podcertificaterequests", "podcertificaterequests/status"}},
	}}
	sign := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "pcrtest-sign"}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"sign"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"signers"}, ResourceNames: []string{"pcrtest.example.com/signer"}},
	}}
	for _, r := range []*rbacv1.ClusterRole{role, sign} {
		if _, err := admin.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.RbacV1().ClusterRoles().Delete(context.Background(), r.Name, metav1.DeleteOptions{}) })
	}
	bind := func(name string) {
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "pcrtest-user"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	user := userClient(t, "pcrtest-user").CertificatesV1().PodCertificateRequests(ns)
	bind("pcrtest-signer")
	var current *certificatesv1.PodCertificateRequest
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		current, err = user.Get(ctx, "web-1", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("the signer never got get on podcertificaterequests: %v", err)
	}

	now := time.Now().Truncate(time.Second)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pcrtest-ca"}, IsCA: true, BasicConstraintsValid: true, NotBefore: now, NotAfter: now.Add(24 * time.Hour)}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "web"}, NotBefore: now, NotAfter: now.Add(2 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	current.Status = certificatesv1.PodCertificateRequestStatus{
		Conditions:       []metav1.Condition{{Type: "Issued", Status: metav1.ConditionTrue, Reason: "Signed", LastTransitionTime: metav1.NewTime(now)}},
		CertificateChain: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		NotBefore:        &metav1.Time{Time: now}, NotAfter: &metav1.Time{Time: now.Add(2 * time.Hour)}, BeginRefreshAt: &metav1.Time{Time: now.Add(time.Hour)},
	}
	_, err = user.UpdateStatus(ctx, current, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.signerName: Forbidden: User "pcrtest-user" is not permitted to "sign" for signer "pcrtest.example.com/signer"`) {
		t.Fatalf("issue without sign: err = %v, want 422 Forbidden on spec.signerName", err)
	}
	bind("pcrtest-sign")
	var issued *certificatesv1.PodCertificateRequest
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		issued, err = user.UpdateStatus(ctx, current, metav1.UpdateOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("issue with sign: %v", err)
	}
	table = getTable(t, server.Client(), "/apis/certificates.k8s.io/v1/namespaces/"+ns+"/podcertificaterequests", "metadata.name=web-1")
	if len(table.Rows) != 1 || table.Rows[0].Cells[5] != "Issued" {
		t.Errorf("state after issuing: %+v", table.Rows)
	}
	issued.Status.Conditions[0].Message = "changed"
	if _, err := user.UpdateStatus(ctx, issued, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status: Invalid value: immutable after PodCertificateRequest is issued, denied, or failed") {
		t.Errorf("status change after issuing: %v", err)
	}
}
