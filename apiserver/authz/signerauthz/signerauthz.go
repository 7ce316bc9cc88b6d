package signerauthz

import (
	"context"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/klog/v2"
)

// Allowed reports whether u may perform verb on the "signers" resource
// named signerName, or, failing that, on "<domain>/*" where domain is the
// part of signerName before its first "/" (so a grant on "example.com/*"
// covers every signer of example.com). An authorizer error counts as no.
func Allowed(ctx context.Context, authz authorizer.Authorizer, u user.Info, verb, signerName string) bool {
	domain, _, _ := strings.Cut(signerName, "/")
	for _, name := range []string{signerName, domain + "/*"} {
		attr := authorizer.AttributesRecord{
			User:            u,
			Verb:            verb,
			Name:            name,
			APIGroup:        certificatesv1.GroupName,
			APIVersion:      "*",
			Resource:        "signers",
			ResourceRequest: true,
		}
		decision, reason, err := authz.Authorize(ctx, attr)
		if err != nil {
			klog.FromContext(ctx).V(1).Info("Cannot authorize signer", "verb", verb, "signer", name, "reason", reason, "err", err)
			continue
		}
		if decision == authorizer.DecisionAllow {
			return true
		}
	}
	return false
}
