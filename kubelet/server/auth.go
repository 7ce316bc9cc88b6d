package server

import (
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/klog/v2"
)

// setUpAuth builds the delegating authenticator (client certificates,
// TokenReview) and authorizer (SubjectAccessReview), as upstream's kubelet.
func (s *Server) setUpAuth() error {
	ac := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:           &apiserver.AnonymousAuthConfig{Enabled: s.cfg.AnonymousAuth},
		CacheTTL:            s.cfg.AuthnCacheTTL,
		APIAudiences:        s.cfg.APIAudiences,
		WebhookRetryBackoff: options.DefaultAuthWebhookRetryBackoff(),
	}
	if s.caFile != nil {
		ac.ClientCertificateCAContentProvider = s.caFile
	}
	if s.cfg.Client != nil {
		ac.TokenAccessReviewClient = s.cfg.Client.AuthenticationV1()
	}
	authn, _, err := ac.New()
	if err != nil {
		return fmt.Errorf("kubelet server: authenticator: %w", err)
	}
	s.authn = authn
	if s.cfg.Client == nil {
		s.authz = authorizerfactory.NewAlwaysAllowAuthorizer()
		return nil
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: s.cfg.Client.AuthorizationV1(),
		AllowCacheTTL:             s.cfg.AuthzAllowCacheTTL,
		DenyCacheTTL:              s.cfg.AuthzDenyCacheTTL,
		WebhookRetryBackoff:       options.DefaultAuthWebhookRetryBackoff(),
	}.New()
	if err != nil {
		return fmt.Errorf("kubelet server: authorizer: %w", err)
	}
	s.authz = authz
	return nil
}

// withAuth authenticates every request (401 when it cannot be) and
// authorizes it against the nodes resource (403 when denied).
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		log := klog.FromContext(req.Context())
		resp, ok, err := s.authn.AuthenticateRequest(req)
		if err != nil {
			log.V(2).Info("Unable to authenticate the request", "err", err)
			writeError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		if !ok {
			writeError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		attrs := RequestAttributes(resp.User, req, s.cfg.NodeName)
		var subresources []string
		for _, a := range attrs {
			subresources = append(subresources, a.GetSubresource())
		}
		for _, a := range attrs {
			decision, _, err := s.authz.Authorize(req.Context(), a)
			if err != nil {
				log.Error(err, "Authorization error", "user", a.GetUser().GetName(), "verb", a.GetVerb(), "resource", a.GetResource(), "subresource", a.GetSubresource())
				writeError(w, http.StatusInternalServerError, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=%s, subresource=%s)", a.GetUser().GetName(), a.GetVerb(), a.GetResource(), a.GetSubresource()))
				return
			}
			if decision == authorizer.DecisionAllow {
				next.ServeHTTP(w, req.WithContext(genericapirequest.WithUser(req.Context(), resp.User)))
				return
			}
		}
		a := attrs[0]
		log.V(2).Info("Forbidden", "user", a.GetUser().GetName(), "verb", a.GetVerb(), "resource", a.GetResource(), "subresource(s)", subresources)
		writeError(w, http.StatusForbidden, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=%s, subresource(s)=%v)\n", a.GetUser().GetName(), a.GetVerb(), a.GetResource(), subresources))
	})
}

func isSubpath(subpath, path string) bool {
	path = strings.TrimSuffix(path, "/")
	return subpath == path || (strings.HasPrefix(subpath, path) && subpath[len(path)] == '/')
}

// RequestAttributes are the authorization attributes of a kubelet request,
// as upstream builds them (with fine-grained authorization): verb from the
// HTTP method, resource nodes, name the node, and the subresources to try
// in order: pods, healthz or configz first where they apply, then stats,
// metrics, log, checkpoint or, for everything else, proxy.
func RequestAttributes(u user.Info, r *http.Request, nodeName string) []authorizer.Attributes {
	verb := ""
	switch r.Method {
	case http.MethodPost:
		verb = "create"
	case http.MethodGet:
		verb = "get"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
	}
	p := r.URL.Path
	var subresources []string
	switch {
	case isSubpath(p, "/pods"):
		subresources = append(subresources, "pods")
	case isSubpath(p, "/healthz"):
		subresources = append(subresources, "healthz")
	case isSubpath(p, "/configz"):
		subresources = append(subresources, "configz")
	case isSubpath(p, "/runningpods/"):
		subresources = append(subresources, "pods")
	}
	switch {
	case isSubpath(p, "/stats"):
		subresources = append(subresources, "stats")
	case isSubpath(p, "/metrics"):
		subresources = append(subresources, "metrics")
	case isSubpath(p, "/logs"):
		subresources = append(subresources, "log")
	case isSubpath(p, "/checkpoint"):
		subresources = append(subresources, "checkpoint")
	case isSubpath(p, "/statusz"):
		subresources = append(subresources, "statusz")
	case isSubpath(p, "/flagz"):
		subresources = append(subresources, "configz")
	default:
		subresources = append(subresources, "proxy")
	}
	attrs := make([]authorizer.Attributes, 0, len(subresources))
	for _, sr := range subresources {
		attrs = append(attrs, authorizer.AttributesRecord{
			User:            u,
			Verb:            verb,
			APIVersion:      "v1",
			Resource:        "nodes",
			Subresource:     sr,
			Name:            nodeName,
			ResourceRequest: true,
			Path:            p,
		})
	}
	return attrs
}
