package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/request/websocket"
	"k8s.io/apiserver/pkg/authentication/request/x509"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/authn/bootstraptoken"
	"github.com/skiff-dev/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-dev/skiff/apiserver/registry/serviceaccounttoken"
	bootstraptokenclient "github.com/skiff-dev/skiff/internal/bootstraptoken"
)

// applyAuthentication builds the request authenticator as kube-apiserver
// does: front-proxy headers, then client certificates, then bearer tokens
// (static token file, service-account JWTs), every authenticated user in
// system:authenticated, and anonymous last when enabled.
func (o *AuthenticationOptions) applyTo(authn *genericapiserver.AuthenticationInfo, serving *genericapiserver.SecureServingInfo, tokenAuthenticators []authenticator.Token) error {
	var requests []authenticator.Request
	var clientCAs []dynamiccertificates.CAContentProvider

	rh, err := o.RequestHeader.ToAuthenticationRequestHeaderConfig()
	if err != nil {
		return fmt.Errorf("request header authentication: %w", err)
	}
	if rh != nil {
		authn.RequestHeaderConfig = rh
		clientCAs = append(clientCAs, rh.CAContentProvider)
		requests = append(requests, headerrequest.NewDynamicVerifyOptionsSecure(
			rh.CAContentProvider.VerifyOptions, rh.AllowedClientNames,
			rh.UsernameHeaders, rh.UIDHeaders, rh.GroupHeaders, rh.ExtraHeaderPrefixes))
	}

	clientCA, err := o.ClientCert.GetClientCAContentProvider()
	if err != nil {
		return fmt.Errorf("--client-ca-file: %w", err)
	}
	if clientCA != nil {
		clientCAs = append(clientCAs, clientCA)
		requests = append(requests, x509.NewDynamic(clientCA.VerifyOptions, x509.CommonNameUserConversion))
	}
	if len(clientCAs) > 0 && serving != nil {
		serving.ClientCA = dynamiccertificates.NewUnionCAContentProvider(clientCAs...)
	}

	tokens := append([]authenticator.Token(nil), tokenAuthenticators...)
	if o.TokenAuthFile != "" {
		t, err := tokenfile.NewCSV(o.TokenAuthFile)
		if err != nil {
			return fmt.Errorf("--token-auth-file: %w", err)
		}
		tokens = append([]authenticator.Token{t}, tokens...)
	}
	if len(tokens) > 0 {
		// As upstream (--token-success-cache-ttl 10s, failure cache off): a
		// token rejected because its Secret had not reached the informer yet
		// works on the next request.
		tokenAuth := tokencache.New(tokenunion.New(tokens...), false, 10*time.Second, 0)
		requests = append(requests, bearertoken.New(tokenAuth), websocket.NewProtocolAuthenticator(tokenAuth))
	}

	authn.APIAudiences = o.APIAudiences
	var req authenticator.Request
	if len(requests) > 0 {
		req = group.NewAuthenticatedGroupAdder(union.New(requests...))
	}
	if o.Anonymous {
		anon := anonymous.NewAuthenticator(nil)
		if req == nil {
			req = anon
		} else {
			req = union.NewFailOnError(req, anon)
		}
	}
	if req == nil {
		return fmt.Errorf("no authentication method is configured: set --client-ca-file, --token-auth-file, --service-account-key-file or --anonymous-auth")
	}
	authn.Authenticator = req
	return nil
}

// authnResult is what the built-in TokenReview API needs of authentication.
type authnResult struct {
	authenticator authenticator.Request
	audiences     authenticator.Audiences
	// tokenREST builds serviceaccounts/token when a signing key is set.
	tokenREST func(serviceAccounts, secrets, pods, nodes rest.Getter) (rest.Storage, error)
}

func (o *Options) applyAuthentication(c *genericapiserver.Config, deps *dependencies) (authnResult, error) {
	var tokens []authenticator.Token
	a := o.Authentication
	if len(a.ServiceAccountKeyFiles) > 0 {
		keys, err := serviceaccount.LoadVerifyKeys(a.ServiceAccountKeyFiles)
		if err != nil {
			return authnResult{}, fmt.Errorf("--service-account-key-file: %w", err)
		}
		core := deps.informers.Core().V1()
		sa, err := serviceaccount.NewAuthenticator(serviceaccount.Config{
			Issuers:      a.ServiceAccountIssuers,
			Keys:         keys,
			APIAudiences: a.APIAudiences,
			Getter:       serviceaccount.NewListerGetter(core.ServiceAccounts().Lister(), core.Secrets().Lister(), core.Pods().Lister(), core.Nodes().Lister()),
		})
		if err != nil {
			return authnResult{}, err
		}
		tokens = append(tokens, sa)
	}
	if a.EnableBootstrapTokenAuth {
		tokens = append(tokens, bootstraptoken.NewFromInformers(deps.informers))
		if err := o.addClusterInfoHook(c); err != nil {
			return authnResult{}, err
		}
	}
	if err := o.Authentication.applyTo(&c.Authentication, c.SecureServing, tokens); err != nil {
		return authnResult{}, err
	}
	res := authnResult{authenticator: c.Authentication.Authenticator, audiences: c.Authentication.APIAudiences}
	if a.ServiceAccountSigningKeyFile != "" {
		key, err := serviceaccount.LoadSigningKey(a.ServiceAccountSigningKeyFile)
		if err != nil {
			return authnResult{}, fmt.Errorf("--service-account-signing-key-file: %w", err)
		}
		gen, err := serviceaccount.NewGenerator(a.ServiceAccountIssuers[0], key)
		if err != nil {
			return authnResult{}, err
		}
		// Tokens bind to the Pods, Nodes and Secrets they are requested for.
		res.tokenREST = func(serviceAccounts, secrets, pods, nodes rest.Getter) (rest.Storage, error) {
			return serviceaccounttoken.NewREST(serviceaccounttoken.Config{
				ServiceAccounts:  serviceAccounts,
				Secrets:          secrets,
				Pods:             pods,
				Nodes:            nodes,
				Generator:        gen,
				APIAudiences:     a.APIAudiences,
				MaxExpiration:    a.ServiceAccountMaxExpiration,
				ExtendExpiration: a.ServiceAccountExtendExpiration,
			})
		}
	}
	return res, nil
}

// addClusterInfoHook makes a server that keeps its own PKI (skiff apiserver,
// skiff server) publish the unsigned cluster-info ConfigMap in kube-public,
// with the advertised address and the CA that signed its serving
// certificate, and let anonymous users read it, before it reports ready:
// what kubeadm init does for kubeadm's clusters. The bootstrap signer then
// signs it for each signing token. Servers given their certificates
// (kube-apiserver personality) leave cluster-info to whoever set them up.
func (o *Options) addClusterInfoHook(c *genericapiserver.Config) error {
	if !o.WriteAdminKubeconfig {
		return nil
	}
	caFile := filepath.Join(o.SecureServing.ServerCert.CertDirectory, "ca.crt")
	return c.AddPostStartHook("skiff/bootstrap-cluster-info", func(hc genericapiserver.PostStartHookContext) error {
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("read the cluster CA for cluster-info: %w", err)
		}
		port := o.SecureServing.BindPort
		if c.SecureServing != nil && c.SecureServing.Listener != nil {
			if addr, ok := c.SecureServing.Listener.Addr().(*net.TCPAddr); ok {
				port = addr.Port
			}
		}
		server := "https://" + net.JoinHostPort(o.ServerRun.AdvertiseAddress.String(), strconv.Itoa(port))
		client, err := bootstrapClient(hc.LoopbackClientConfig)
		if err != nil {
			return err
		}
		return wait.PollUntilContextTimeout(hc, 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			if err := bootstraptokenclient.EnsureClusterInfo(ctx, client, server, caPEM); err != nil {
				klog.FromContext(ctx).V(1).Info("Publishing cluster-info failed, retrying", "err", err)
				return false, nil
			}
			return true, nil
		})
	})
}
