package serviceaccount

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/audit"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	authenticationtokenjwt "k8s.io/apiserver/pkg/authentication/token/jwt"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/klog/v2"
)

const (
	// leeway is the clock skew tolerated on exp, nbf and iat, and the grace
	// period during which an object being deleted still backs its tokens.
	leeway = time.Minute

	// invalidSinceLabel marks a legacy token Secret whose token is no longer
	// accepted.
	invalidSinceLabel = "kubernetes.io/legacy-token-invalid-since"
)

var errInvalidated = errors.New("service account token has been invalidated")

// validateBound checks a bound token's validity period, that the service
// account and the objects the token is bound to still exist with the UIDs it
// names, and that none of them has been deleted for longer than the leeway.
func (a *Authenticator) validateBound(ctx context.Context, _ string, claims *TokenClaims) (*apiserverserviceaccount.ServiceAccountInfo, error) {
	nowTime := time.Now()
	if err := checkValidityPeriod(claims, nowTime); err != nil {
		return nil, err
	}
	private := claims.Kubernetes
	if private == nil {
		private = &KubernetesClaims{}
	}
	deletedBefore := nowTime.Add(-leeway)
	namespace := private.Namespace
	saRef := private.ServiceAccount

	sa, err := a.getter.GetServiceAccount(ctx, namespace, saRef.Name)
	if err != nil {
		klog.V(4).Infof("Could not retrieve service account %s/%s: %v", namespace, saRef.Name, err)
		return nil, err
	}
	if string(sa.UID) != saRef.UID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", sa.UID, saRef.UID)
	}
	if deletedSince(sa.DeletionTimestamp, deletedBefore) {
		return nil, fmt.Errorf("service account %s/%s has been deleted", namespace, saRef.Name)
	}

	if ref := private.Secret; ref != nil {
		secret, err := a.getter.GetSecret(ctx, namespace, ref.Name)
		if err != nil {
			klog.V(4).Infof("Could not retrieve bound secret %s/%s for service account %s/%s: %v", namespace, ref.Name, namespace, saRef.Name, err)
			return nil, errInvalidated
		}
		if string(secret.UID) != ref.UID {
			return nil, fmt.Errorf("secret UID (%s) does not match service account secret ref claim (%s)", secret.UID, ref.UID)
		}
		if deletedSince(secret.DeletionTimestamp, deletedBefore) {
			klog.V(4).Infof("Bound secret %s/%s for service account %s/%s is being deleted", namespace, ref.Name, namespace, saRef.Name)
			return nil, errInvalidated
		}
	}

	info := &apiserverserviceaccount.ServiceAccountInfo{
		Namespace:    namespace,
		Name:         saRef.Name,
		UID:          saRef.UID,
		CredentialID: authenticationtokenjwt.CredentialIDForJTI(claims.ID),
	}
	if ref := private.Pod; ref != nil {
		pod, err := a.getter.GetPod(ctx, namespace, ref.Name)
		if err != nil {
			klog.V(4).Infof("Could not retrieve bound pod %s/%s for service account %s/%s: %v", namespace, ref.Name, namespace, saRef.Name, err)
			return nil, errInvalidated
		}
		if string(pod.UID) != ref.UID {
			return nil, fmt.Errorf("pod UID (%s) does not match service account pod ref claim (%s)", pod.UID, ref.UID)
		}
		if deletedSince(pod.DeletionTimestamp, deletedBefore) {
			klog.V(4).Infof("Bound pod %s/%s for service account %s/%s is being deleted", namespace, ref.Name, namespace, saRef.Name)
			return nil, errInvalidated
		}
		info.PodName, info.PodUID = ref.Name, ref.UID
	}

	if ref := private.Node; ref != nil {
		// A pod-bound token only records its pod's node; a node-bound token
		// is checked against the node.
		if private.Pod == nil {
			node, err := a.getter.GetNode(ctx, ref.Name)
			if err != nil {
				klog.V(4).Infof("Could not retrieve node %q for service account %s/%s: %v", ref.Name, namespace, saRef.Name, err)
				return nil, errInvalidated
			}
			if string(node.UID) != ref.UID {
				return nil, fmt.Errorf("node UID (%s) does not match service account node ref claim (%s)", node.UID, ref.UID)
			}
			if deletedSince(node.DeletionTimestamp, deletedBefore) {
				klog.V(4).Infof("Node %q for service account %s/%s is being deleted", ref.Name, namespace, saRef.Name)
				return nil, errInvalidated
			}
		}
		info.NodeName, info.NodeUID = ref.Name, ref.UID
	}

	if warnAfter := private.WarnAfter; warnAfter != nil && !warnAfter.IsZero() && nowTime.After(warnAfter.Time) {
		audit.AddAuditAnnotation(ctx, "authentication.k8s.io/stale-token",
			fmt.Sprintf("subject: %s, seconds after warning threshold: %d", claims.Subject, nowTime.Unix()-warnAfter.Unix()))
	}
	return info, nil
}

// checkValidityPeriod checks exp, nbf and iat against nowTime, allowing the
// leeway for clock skew.
func checkValidityPeriod(claims *TokenClaims, nowTime time.Time) error {
	switch {
	case claims.NotBefore != nil && nowTime.Add(leeway).Before(claims.NotBefore.Time):
		return errors.New("service account token is not valid yet")
	case claims.ExpiresAt != nil && nowTime.Add(-leeway).After(claims.ExpiresAt.Time):
		return errors.New("service account token has expired")
	case claims.IssuedAt != nil && nowTime.Add(leeway).Before(claims.IssuedAt.Time):
		return errors.New("service account token is issued in the future")
	}
	return nil
}

// validateLegacy checks a Secret-based token: its claims must be complete,
// its Secret must still hold exactly this token and its service account
// must still exist with the UID it names. Its capitalised error texts are
// kube-apiserver's.
func (a *Authenticator) validateLegacy(ctx context.Context, tokenData string, claims *TokenClaims) (*apiserverserviceaccount.ServiceAccountInfo, error) {
	private := claims.LegacyClaims
	if private == nil {
		private = &LegacyClaims{}
	}
	switch {
	case claims.Subject == "":
		return nil, errors.New("sub claim is missing")
	case private.Namespace == "":
		return nil, errors.New("namespace claim is missing")
	case private.SecretName == "":
		return nil, errors.New("secretName claim is missing")
	case private.ServiceAccountName == "":
		return nil, errors.New("serviceAccountName claim is missing")
	case private.ServiceAccountUID == "":
		return nil, errors.New("serviceAccountUID claim is missing")
	}
	namespace, name, err := apiserverserviceaccount.SplitUsername(claims.Subject)
	if err != nil || namespace != private.Namespace || name != private.ServiceAccountName {
		return nil, errors.New("sub claim is invalid")
	}

	secret, err := a.getter.GetSecret(ctx, namespace, private.SecretName)
	if err != nil {
		klog.V(4).Infof("Could not retrieve token %s/%s for service account %s/%s: %v", namespace, private.SecretName, namespace, name, err)
		return nil, errors.New("Token has been invalidated")
	}
	if secret.DeletionTimestamp != nil {
		return nil, errors.New("Token has been invalidated")
	}
	if subtle.ConstantTimeCompare(secret.Data[corev1.ServiceAccountTokenKey], []byte(tokenData)) == 0 {
		return nil, errors.New("Token does not match server's copy")
	}

	sa, err := a.getter.GetServiceAccount(ctx, namespace, name)
	if err != nil {
		klog.V(4).Infof("Could not retrieve service account %s/%s: %v", namespace, name, err)
		return nil, err
	}
	if sa.DeletionTimestamp != nil {
		return nil, fmt.Errorf("ServiceAccount %s/%s has been deleted", namespace, name)
	}
	if string(sa.UID) != private.ServiceAccountUID {
		return nil, fmt.Errorf("ServiceAccount UID (%s) does not match claim (%s)", sa.UID, private.ServiceAccountUID)
	}

	if secret.Labels[invalidSinceLabel] != "" {
		audit.AddAuditAnnotation(ctx, "authentication.k8s.io/legacy-token-invalidated", secret.Name+"/"+secret.Namespace)
		return nil, fmt.Errorf("the token in secret %s/%s for service account %s/%s has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '%s' label from the secret to temporarily allow use of this token", namespace, secret.Name, namespace, name, invalidSinceLabel)
	}
	autoGenerated := false
	for _, ref := range sa.Secrets {
		if ref.Name == secret.Name {
			autoGenerated = true
			break
		}
	}
	if autoGenerated {
		warning.AddWarning(ctx, "", "Use tokens from the TokenRequest API or manually created secret-based tokens instead of auto-generated secret-based tokens.")
		audit.AddAuditAnnotation(ctx, "authentication.k8s.io/legacy-token-autogenerated-secret", secret.Name)
	} else {
		audit.AddAuditAnnotation(ctx, "authentication.k8s.io/legacy-token-manual-secret", secret.Name)
	}

	return &apiserverserviceaccount.ServiceAccountInfo{
		Namespace: namespace,
		Name:      name,
		UID:       private.ServiceAccountUID,
	}, nil
}

// deletedSince reports whether an object with deletionTimestamp ts has been
// being deleted since before cutoff.
func deletedSince(ts *metav1.Time, cutoff time.Time) bool {
	return ts != nil && ts.Time.Before(cutoff)
}
