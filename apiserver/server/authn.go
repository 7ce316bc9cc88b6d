package server

import (
	"fmt"
	"time"

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

	"github.com/skiff-dev/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-dev/skiff/apiserver/registry/serviceaccounttoken"
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
		// As upstream: cache successful lookups briefly, failures briefly too.
		tokenAuth := tokencache.New(tokenunion.New(tokens...), false, 10*time.Second, 10*time.Second)
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
	tokenREST func(serviceAccounts, secrets rest.Getter) (rest.Storage, error)
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
			Getter:       serviceaccount.NewListerGetter(core.ServiceAccounts().Lister(), core.Secrets().Lister(), nil, nil),
		})
		if err != nil {
			return authnResult{}, err
		}
		tokens = append(tokens, sa)
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
		// Pods and nodes are not served yet: tokens cannot be bound to them.
		res.tokenREST = func(serviceAccounts, secrets rest.Getter) (rest.Storage, error) {
			return serviceaccounttoken.NewREST(serviceaccounttoken.Config{
				ServiceAccounts:  serviceAccounts,
				Secrets:          secrets,
				Generator:        gen,
				APIAudiences:     a.APIAudiences,
				MaxExpiration:    a.ServiceAccountMaxExpiration,
				ExtendExpiration: a.ServiceAccountExtendExpiration,
			})
		}
	}
	return res, nil
}
