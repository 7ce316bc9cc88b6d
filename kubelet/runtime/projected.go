package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/klog/v2"
)

// DefaultTokenExpirationSeconds is the lifetime a serviceAccountToken
// projection asks for when it names none (the API's default).
const DefaultTokenExpirationSeconds int64 = 3600

// projectedPayload collects the files of a projected volume from all its
// sources, as upstream's projected plugin does: later sources overwrite
// earlier ones at the same path, the volume's defaultMode applies unless an
// item has its own mode, missing optional objects give nothing, and the
// errors of all sources are reported together.
func (r *Runtime) projectedPayload(ctx context.Context, pod *corev1.Pod, src *corev1.ProjectedVolumeSource) (map[string]FileProjection, error) {
	mode := fileMode(src.DefaultMode)
	payload := map[string]FileProjection{}
	var errs []error
	merge := func(p map[string]FileProjection, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, v := range p {
			payload[k] = v
		}
	}
	for _, s := range src.Sources {
		switch {
		case s.ConfigMap != nil:
			merge(r.configMapPayload(ctx, pod, s.ConfigMap.Name, s.ConfigMap.Items, isTrue(s.ConfigMap.Optional), mode))
		case s.Secret != nil:
			merge(r.secretPayload(ctx, pod, s.Secret.Name, s.Secret.Items, isTrue(s.Secret.Optional), mode))
		case s.DownwardAPI != nil:
			merge(r.downwardAPIPayload(pod, s.DownwardAPI.Items, mode))
		case s.ServiceAccountToken != nil:
			merge(r.tokenPayload(ctx, pod, s.ServiceAccountToken, mode))
		case s.ClusterTrustBundle != nil:
			errs = append(errs, errors.New("clusterTrustBundle projections are not supported"))
		case s.PodCertificate != nil:
			errs = append(errs, errors.New("podCertificate projections are not supported"))
		}
	}
	if err := utilerrors.NewAggregate(errs); err != nil {
		return nil, err
	}
	return payload, nil
}

// tokenPayload requests (or reuses) a token of the pod's service account
// bound to the pod, for the projection's audience (none: the API server's)
// and lifetime.
func (r *Runtime) tokenPayload(ctx context.Context, pod *corev1.Pod, tp *corev1.ServiceAccountTokenProjection, mode os.FileMode) (map[string]FileProjection, error) {
	if r.cfg.Objects == nil {
		return nil, errors.New("cannot get service account token: no token source")
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := DefaultTokenExpirationSeconds
	if tp.ExpirationSeconds != nil {
		exp = *tp.ExpirationSeconds
	}
	var auds []string
	if tp.Audience != "" {
		auds = []string{tp.Audience}
	}
	tr, err := r.cfg.Objects.CreateToken(ctx, pod.Namespace, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         auds,
			ExpirationSeconds: &exp,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
		},
	})
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Service account token request failed", "serviceAccount", sa, "err", err)
		return nil, fmt.Errorf("failed to fetch token: %w", err)
	}
	return map[string]FileProjection{tp.Path: {Data: []byte(tr.Status.Token), Mode: mode}}, nil
}
