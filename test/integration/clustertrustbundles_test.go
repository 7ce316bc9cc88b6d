package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// testCAPEM returns a fresh self-signed certificate, a CA one when ca.
func testCAPEM(t *testing.T, ca bool) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "ctb-test"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: ca, IsCA: ca}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// getTable asks the API server for the `kubectl get` table of a
// cluster-scoped resource, as kubectl does.
func getTable(t *testing.T, client kubernetes.Interface, absPath, fieldSelector string) *metav1.Table {
	t.Helper()
	raw, err := client.CoreV1().RESTClient().Get().AbsPath(absPath).Param("fieldSelector", fieldSelector).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(context.Background()).Raw()
	if err != nil {
		t.Fatalf("table of %s: %v", absPath, err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatalf("decode table: %v", err)
	}
	return &table
}

func tableColumns(table *metav1.Table) []string {
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	return names
}

// TestClusterTrustBundles creates bundles, lists them by spec.signerName,
// prints them through the Table API, refuses invalid ones with upstream's
// field paths and messages, and enforces ClusterTrustBundleAttest.
func TestClusterTrustBundles(t *testing.T) {
	ctx := context.Background()
	api := server.Client().CertificatesV1().ClusterTrustBundles()
	ca1, ca2 := testCAPEM(t, true), testCAPEM(t, true)
	bundle := func(name, signer, pemData string) *certificatesv1.ClusterTrustBundle {
		return &certificatesv1.ClusterTrustBundle{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: signer, TrustBundle: pemData}}
	}
	create := func(client kubernetes.Interface, b *certificatesv1.ClusterTrustBundle) error {
		_, err := client.CertificatesV1().ClusterTrustBundles().Create(ctx, b, metav1.CreateOptions{})
		if err == nil {
			t.Cleanup(func() { _ = api.Delete(context.Background(), b.Name, metav1.DeleteOptions{}) })
		}
		return err
	}
	for _, b := range []*certificatesv1.ClusterTrustBundle{
		bundle("ctbtest-roots", "", ca1),
		bundle("ctbtest.example.com:signer:one", "ctbtest.example.com/signer", ca1),
		bundle("ctbtest.example.com:signer:two", "ctbtest.example.com/signer", ca1+ca2),
		bundle("ctbtest.example.com:other:one", "ctbtest.example.com/other", ca2),
	} {
		if err := create(server.Client(), b); err != nil {
			t.Fatalf("create %s: %v", b.Name, err)
		}
	}

	t.Run("field selector", func(t *testing.T) {
		tests := []struct {
			selector string
			want     []string
		}{
			{"spec.signerName=ctbtest.example.com/signer", []string{"ctbtest.example.com:signer:one", "ctbtest.example.com:signer:two"}},
			{"spec.signerName=ctbtest.example.com/other", []string{"ctbtest.example.com:other:one"}},
			{"spec.signerName=,metadata.name=ctbtest-roots", []string{"ctbtest-roots"}},
		}
		for _, tc := range tests {
			list, err := api.List(ctx, metav1.ListOptions{FieldSelector: tc.selector})
			if err != nil {
				t.Fatalf("list %q: %v", tc.selector, err)
			}
			var got []string
			for _, b := range list.Items {
				got = append(got, b.Name)
			}
			slices.Sort(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%q: got %v, want %v", tc.selector, got, tc.want)
			}
		}
		if _, err := api.List(ctx, metav1.ListOptions{FieldSelector: "spec.trustBundle=x"}); !apierrors.IsBadRequest(err) {
			t.Errorf("unsupported field selector: err = %v, want BadRequest", err)
		}
	})

	t.Run("table", func(t *testing.T) {
		table := getTable(t, server.Client(), "/apis/certificates.k8s.io/v1/clustertrustbundles", "spec.signerName=ctbtest.example.com/other")
		if got, want := tableColumns(table), []string{"Name", "SignerName"}; !reflect.DeepEqual(got, want) {
			t.Errorf("columns %v, want %v", got, want)
		}
		if len(table.Rows) != 1 || !reflect.DeepEqual(table.Rows[0].Cells, []any{"ctbtest.example.com:other:one", "ctbtest.example.com/other"}) {
			t.Errorf("rows %+v", table.Rows)
		}
		table = getTable(t, server.Client(), "/apis/certificates.k8s.io/v1/clustertrustbundles", "metadata.name=ctbtest-roots")
		if len(table.Rows) != 1 || !reflect.DeepEqual(table.Rows[0].Cells, []any{"ctbtest-roots", "<none>"}) {
			t.Errorf("rows %+v", table.Rows)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		tests := []struct {
			name string
			b    *certificatesv1.ClusterTrustBundle
			want string
		}{
			{name: "name without signer prefix", b: bundle("ctbtest-bad", "ctbtest.example.com/signer", ca1),
				want: "metadata.name: Invalid value: \"ctbtest-bad\": ClusterTrustBundle for signerName ctbtest.example.com/signer must be named with prefix ctbtest.example.com:signer:"},
			{name: "colon without signer", b: bundle("ctbtest:bad", "", ca1),
				want: `metadata.name: Invalid value: "ctbtest:bad": ClusterTrustBundle without signer name must not have ":" in its name`},
			{name: "not a CA", b: bundle("ctbtest-leaf", "", testCAPEM(t, false)),
				want: `spec.trustBundle: Invalid value: "<value omitted>": entry 0 does not have the CA bit set`},
			{name: "empty", b: bundle("ctbtest-empty", "", ""),
				want: `spec.trustBundle: Invalid value: "<value omitted>": at least one trust anchor must be provided`},
			{name: "duplicate", b: bundle("ctbtest-dup", "", ca1+ca1),
				want: `spec.trustBundle: Invalid value: "<value omitted>": duplicate trust anchor (indices [0 1])`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := create(server.Client(), tc.b)
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want 422 with %q", err, tc.want)
				}
			})
		}
		got, err := api.Get(ctx, "ctbtest.example.com:signer:one", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got.Spec.SignerName = "ctbtest.example.com/other"
		got.Name = "ctbtest.example.com:signer:one"
		_, err = api.Update(ctx, got, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.signerName: Invalid value: \"ctbtest.example.com/other\": field is immutable") {
			t.Errorf("signer change: err = %v, want 422 immutable", err)
		}
	})

	t.Run("attest", func(t *testing.T) {
		admin := server.Client()
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ctbtest-writer"}, Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"create", "update", "get"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"clustertrustbundles"}},
		}}
		attest := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ctbtest-attest"}, Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"attest"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"signers"}, ResourceNames: []string{"ctbtest.example.com/*"}},
		}}
		for _, r := range []*rbacv1.ClusterRole{role, attest} {
			if _, err := admin.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.RbacV1().ClusterRoles().Delete(context.Background(), r.Name, metav1.DeleteOptions{}) })
		}
		bind := func(name, roleName string) {
			if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "ctbtest-user"}},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
			})
		}
		user := userClient(t, "ctbtest-user")
		bind("ctbtest-writer", "ctbtest-writer")
		// The authorizer reads from informers: wait until the grant is seen,
		// with a bundle that needs no attestation.
		if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			return create(user, bundle("ctbtest-user-roots", "", ca1)) == nil, nil
		}); err != nil {
			t.Fatal("the user never got create on clustertrustbundles")
		}
		signed := bundle("ctbtest.example.com:signer:user", "ctbtest.example.com/signer", ca2)
		err := create(user, signed)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `user not permitted to attest for signerName "ctbtest.example.com/signer"`) {
			t.Fatalf("create without attest: err = %v, want Forbidden by ClusterTrustBundleAttest", err)
		}
		bind("ctbtest-attest", "ctbtest-attest")
		if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			err = create(user, signed)
			return err == nil, nil
		}); err != nil {
			t.Fatalf("create with attest on ctbtest.example.com/*: %v", err)
		}
	})
}
