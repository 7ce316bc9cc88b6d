package certificate_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/controllers/certificates"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/internal/bootstraptoken"
	"github.com/skiff-dev/skiff/kubelet/certificate"
)

// whoAmI asks the server who cfg authenticates as.
func whoAmI(ctx context.Context, cfg *rest.Config) (authenticationv1.UserInfo, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

func anonymous() *rest.Config {
	return &rest.Config{Host: env.Server.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

func withToken(token string) *rest.Config {
	cfg := anonymous()
	cfg.BearerToken = token
	return cfg
}

// TestJoin walks a node's join path: a token is created, discovery verifies
// the CA with it, bootstrap gets the node a client certificate, the node is
// system:node:<name>, and its certificates rotate before they expire.
func TestJoin(t *testing.T) {
	ctx := controllertest.Context(t)
	if err := bootstraptoken.EnsureRBAC(ctx, env.Client); err != nil {
		t.Fatalf("EnsureRBAC: %v", err)
	}
	// Twice: it is idempotent.
	if err := bootstraptoken.EnsureRBAC(ctx, env.Client); err != nil {
		t.Fatalf("EnsureRBAC again: %v", err)
	}
	tok, err := bootstraptoken.Create(ctx, env.Client, bootstraptoken.CreateOptions{TTL: time.Hour, Description: "join test"})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	wantCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}

	var ca []byte
	t.Run("discovery verifies the CA", func(t *testing.T) {
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			ca, err = certificate.DiscoverCA(ctx, env.Server.URL, tok.String())
			return err == nil, err
		}, "discover the CA with token %s", tok.ID)
		if !bytes.Equal(ca, wantCA) {
			t.Fatalf("discovered CA differs from the cluster CA")
		}
	})
	if ca == nil {
		t.FailNow()
	}
	t.Run("discovery refuses a wrong token", func(t *testing.T) {
		tests := []struct{ name, token, want string }{
			{"wrong secret", tok.ID + ".0000000000000000", "does not match"},
			{"unknown id", "zzzzzz.0123456789abcdef", "no signature for token ID"},
			{"malformed", "not-a-token", "not of the form"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := certificate.DiscoverCA(ctx, env.Server.URL, tc.token)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("DiscoverCA(%q) = %v, want an error saying %q", tc.token, err, tc.want)
				}
			})
		}
	})

	dir := t.TempDir()
	cfg := certificate.Config{
		BootstrapKubeconfig: filepath.Join(dir, "bootstrap-kubelet.kubeconfig"),
		KubeconfigPath:      filepath.Join(dir, "kubelet.kubeconfig"),
		CertDir:             filepath.Join(dir, "pki"),
		NodeName:            "join-1",
	}
	if err := certificate.WriteBootstrapKubeconfig(cfg.BootstrapKubeconfig, env.Server.URL, ca, tok.String()); err != nil {
		t.Fatal(err)
	}
	t.Run("bootstrap gets the node a client certificate", func(t *testing.T) {
		bctx, cancel := context.WithTimeout(ctx, controllertest.DefaultTimeout)
		defer cancel()
		if err := certificate.Bootstrap(bctx, cfg); err != nil {
			t.Fatalf("Bootstrap: %v", err)
		}
		nodeCfg, err := clientcmd.BuildConfigFromFlags("", cfg.KubeconfigPath)
		if err != nil {
			t.Fatal(err)
		}
		who, err := whoAmI(ctx, nodeCfg)
		if err != nil {
			t.Fatalf("SelfSubjectReview with the node kubeconfig: %v", err)
		}
		if who.Username != "system:node:join-1" || !slices.Contains(who.Groups, "system:nodes") || !slices.Contains(who.Groups, "system:authenticated") {
			t.Fatalf("node authenticates as %s %v, want system:node:join-1 in system:nodes", who.Username, who.Groups)
		}
		csrs, err := env.Client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range csrs.Items {
			if c.Spec.Username == "system:bootstrap:"+tok.ID {
				found = true
				if a := approvedBy(&c); a != certificates.MessageAutoApproved {
					t.Errorf("bootstrap CSR %s approval message %q, want %q", c.Name, a, certificates.MessageAutoApproved)
				}
			}
		}
		if !found {
			t.Errorf("no CSR by system:bootstrap:%s", tok.ID)
		}
	})
	t.Run("bootstrap again keeps the valid certificate", func(t *testing.T) {
		before, err := os.ReadFile(filepath.Join(cfg.CertDir, "kubelet-client-current.pem"))
		if err != nil {
			t.Fatal(err)
		}
		// Without the bootstrap kubeconfig it could not request one.
		again := cfg
		again.BootstrapKubeconfig = ""
		if err := certificate.Bootstrap(ctx, again); err != nil {
			t.Fatalf("Bootstrap with a valid kubeconfig: %v", err)
		}
		after, err := os.ReadFile(filepath.Join(cfg.CertDir, "kubelet-client-current.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Error("the certificate was replaced")
		}
	})

	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := certificate.NewClientManager(mctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := m.Current()
	if first == nil || first.Leaf == nil {
		t.Fatal("the manager has no current certificate after bootstrap")
	}
	m.Start()
	defer m.Stop()
	// The node's client from now on: its connections follow the rotations.
	nodeCfg, err := certificate.ClientConfig(mctx, cfg.KubeconfigPath, m)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the client certificate rotates before it expires", func(t *testing.T) {
		var rotated *tls.Certificate
		controllertest.EventuallyWithin(t, signingDuration, func(ctx context.Context) (bool, error) {
			rotated = m.Current()
			return rotated != nil && rotated.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0, nil
		}, "a new client certificate")
		if !time.Now().Before(first.Leaf.NotAfter) {
			t.Errorf("rotated at %s, after the old certificate expired at %s", time.Now(), first.Leaf.NotAfter)
		}
		if rotated.Leaf.Subject.CommonName != "system:node:join-1" {
			t.Errorf("rotated certificate is for %s", rotated.Leaf.Subject.CommonName)
		}
		// The renewal was the node's own: approved as selfnodeclient.
		csrs, err := env.Client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		self := 0
		for _, c := range csrs.Items {
			if c.Spec.Username == "system:node:join-1" && approvedBy(&c) == certificates.MessageAutoApprovedSelf {
				self++
			}
		}
		if self == 0 {
			t.Error("no renewal CSR by system:node:join-1 approved as selfnodeclient")
		}
		who, err := whoAmI(ctx, nodeCfg)
		if err != nil || who.Username != "system:node:join-1" {
			t.Fatalf("rotating client config authenticates as %q (%v)", who.Username, err)
		}
	})

	t.Run("the serving certificate is for the node's addresses", func(t *testing.T) {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "join-1"}}
		created, err := env.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), "join-1", metav1.DeleteOptions{}) })
		addresses := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "join-1"}, {Type: corev1.NodeInternalIP, Address: "10.77.0.5"}}
		created.Status.Addresses = addresses
		if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		sm, err := certificate.NewServingManager(mctx, certificate.ServingConfig{
			Client: nodeCfg, CertDir: cfg.CertDir, NodeName: "join-1",
			Addresses: func() []corev1.NodeAddress { return addresses },
		})
		if err != nil {
			t.Fatal(err)
		}
		sm.Start()
		defer sm.Stop()
		var cert *tls.Certificate
		controllertest.Eventually(t, func(context.Context) (bool, error) {
			cert = sm.Current()
			return cert != nil, nil
		}, "a serving certificate")
		leaf := cert.Leaf
		if leaf.Subject.CommonName != "system:node:join-1" || !slices.Equal(leaf.DNSNames, []string{"join-1"}) ||
			len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "10.77.0.5" {
			t.Errorf("serving certificate %s with SANs %v %v", leaf.Subject, leaf.DNSNames, leaf.IPAddresses)
		}
		if tc := certificate.ServingTLSConfig(sm); tc.GetCertificate == nil {
			t.Error("no GetCertificate")
		}
	})

	t.Run("anonymous reads cluster-info and nothing else", func(t *testing.T) {
		client := kubernetes.NewForConfigOrDie(anonymous())
		if _, err := client.CoreV1().ConfigMaps("kube-public").Get(ctx, "cluster-info", metav1.GetOptions{}); err != nil {
			t.Fatalf("anonymous get cluster-info: %v", err)
		}
		denied := []struct {
			name string
			do   func() error
		}{
			{"list kube-public configmaps", func() error {
				_, err := client.CoreV1().ConfigMaps("kube-public").List(ctx, metav1.ListOptions{})
				return err
			}},
			{"get another kube-public configmap", func() error {
				_, err := client.CoreV1().ConfigMaps("kube-public").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
				return err
			}},
			{"watch cluster-info", func() error {
				w, err := client.CoreV1().ConfigMaps("kube-public").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=cluster-info"})
				if err == nil {
					w.Stop()
				}
				return err
			}},
			{"get a token secret", func() error {
				_, err := client.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+tok.ID, metav1.GetOptions{})
				return err
			}},
			{"list nodes", func() error {
				_, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
				return err
			}},
		}
		for _, d := range denied {
			if err := d.do(); !apierrors.IsForbidden(err) {
				t.Errorf("anonymous %s: %v, want Forbidden", d.name, err)
			}
		}
	})

	t.Run("the bootstrap token authenticates until it expires", func(t *testing.T) {
		short, err := bootstraptoken.Create(ctx, env.Client, bootstraptoken.CreateOptions{TTL: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		expires := *short.Expires
		// Token Secrets reach the authenticator through its informer.
		var first authenticationv1.UserInfo
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			if !time.Now().Before(expires) {
				return false, errors.New("expired before it was seen")
			}
			first, err = whoAmI(ctx, withToken(short.String()))
			return err == nil, err
		}, "the new token authenticates")
		if first.Username != "system:bootstrap:"+short.ID || !slices.Contains(first.Groups, "system:bootstrappers") ||
			!slices.Contains(first.Groups, bootstraptoken.DefaultGroup) {
			t.Errorf("token authenticates as %s %v", first.Username, first.Groups)
		}
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			_, err := whoAmI(ctx, withToken(short.String()))
			if apierrors.IsUnauthorized(err) {
				return true, nil
			}
			return false, err
		}, "the expired token gets 401")
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			_, err := env.Client.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+short.ID, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "the token cleaner deletes the expired token")
		if _, err := certificate.DiscoverCA(ctx, env.Server.URL, short.String()); err == nil {
			t.Error("discovery works with an expired token")
		}
	})

	t.Run("a token that is not for authentication gets 401", func(t *testing.T) {
		signOnly, err := bootstraptoken.Create(ctx, env.Client, bootstraptoken.CreateOptions{TTL: time.Hour, Usages: []string{"signing"}})
		if err != nil {
			t.Fatal(err)
		}
		// Discovery works with it (once signed) but authentication never does.
		controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
			_, err := certificate.DiscoverCA(ctx, env.Server.URL, signOnly.String())
			return err == nil, err
		}, "discovery with a signing-only token")
		_, err = whoAmI(ctx, withToken(signOnly.String()))
		if !apierrors.IsUnauthorized(err) {
			t.Errorf("signing-only token: %v, want 401", err)
		}
		var status int
		kubernetes.NewForConfigOrDie(withToken(signOnly.String())).Discovery().RESTClient().Get().AbsPath("/api").Do(ctx).StatusCode(&status)
		if status != http.StatusUnauthorized {
			t.Errorf("GET /api with a signing-only token: %d, want 401", status)
		}
	})
}

func approvedBy(c *certificatesv1.CertificateSigningRequest) string {
	for _, cond := range c.Status.Conditions {
		if cond.Type == certificatesv1.CertificateApproved {
			return cond.Message
		}
	}
	return ""
}
