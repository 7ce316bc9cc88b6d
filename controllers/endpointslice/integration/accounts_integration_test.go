package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/rootcacertpublisher"
	"github.com/skiff-dev/skiff/controllers/tokencleaner"
)

// A new namespace gets a default ServiceAccount, recreated when deleted.
func TestDefaultServiceAccount(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	var uid types.UID
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		sa, err := kc.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		uid = sa.UID
		return true, nil
	}, "default service account created")
	if err := kc.CoreV1().ServiceAccounts(ns).Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		sa, err := kc.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if sa.UID == uid {
			return false, fmt.Errorf("still the deleted one")
		}
		return true, nil
	}, "default service account recreated")
}

// kube-root-ca.crt is published, and restored after edits and deletion.
func TestRootCAPublisher(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	published := func(ctx context.Context) (bool, error) {
		cm, err := kc.CoreV1().ConfigMaps(ns).Get(ctx, rootcacertpublisher.ConfigMapName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if cm.Data["ca.crt"] != rootCA || len(cm.Data) != 1 {
			return false, fmt.Errorf("data: %v", cm.Data)
		}
		if cm.Annotations[rootcacertpublisher.DescriptionAnnotation] != rootcacertpublisher.Description {
			return false, fmt.Errorf("annotations: %v", cm.Annotations)
		}
		return true, nil
	}
	controllertest.Eventually(t, published, "published")

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		cm, err := kc.CoreV1().ConfigMaps(ns).Get(ctx, rootcacertpublisher.ConfigMapName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cm.Data = map[string]string{"ca.crt": "tampered", "extra": "x"}
		delete(cm.Annotations, rootcacertpublisher.DescriptionAnnotation)
		_, err = kc.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
		return err == nil, err
	}, "edit")
	controllertest.Eventually(t, published, "restored after edit")

	if err := kc.CoreV1().ConfigMaps(ns).Delete(ctx, rootcacertpublisher.ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, published, "restored after deletion")
}

// An expired bootstrap token is deleted; one that has not expired stays.
func TestTokenCleaner(t *testing.T) {
	ctx := controllertest.Context(t)
	mk := func(id string, exp time.Time) {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + id, Namespace: tokencleaner.Namespace},
			Type:       tokencleaner.SecretType,
			StringData: map[string]string{
				"token-id":     id,
				"token-secret": "0123456789abcdef",
				"expiration":   exp.UTC().Format(time.RFC3339),
			},
		}
		if _, err := kc.CoreV1().Secrets(tokencleaner.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = kc.CoreV1().Secrets(tokencleaner.Namespace).Delete(context.Background(), s.Name, metav1.DeleteOptions{})
		})
	}
	mk("past01", time.Now().Add(-time.Hour))
	mk("soon01", time.Now().Add(3*time.Second))
	mk("late01", time.Now().Add(time.Hour))
	gone := func(name string) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			_, err := kc.CoreV1().Secrets(tokencleaner.Namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		}
	}
	controllertest.Eventually(t, gone("bootstrap-token-past01"), "expired token deleted")
	if ok, _ := gone("bootstrap-token-soon01")(ctx); ok {
		t.Fatal("token deleted before it expired")
	}
	controllertest.Eventually(t, gone("bootstrap-token-soon01"), "token deleted at expiry")
	if ok, err := gone("bootstrap-token-late01")(ctx); ok || err != nil {
		t.Fatalf("unexpired token: gone=%v err=%v", ok, err)
	}
}

// A legacy token Secret gets a token the API server accepts, the CA and
// the namespace; it goes with its ServiceAccount.
func TestServiceAccountTokenSecret(t *testing.T) {
	ctx := controllertest.Context(t)
	ns := env.Namespace(t)
	sa, err := kc.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "builder-token", Annotations: map[string]string{corev1.ServiceAccountNameKey: "builder"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}
	if _, err := kc.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var token string
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		s, err := kc.CoreV1().Secrets(ns).Get(ctx, "builder-token", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if string(s.Data["ca.crt"]) != rootCA || string(s.Data["namespace"]) != ns || len(s.Data["token"]) == 0 {
			return false, fmt.Errorf("data keys: ca=%q ns=%q token=%d bytes", s.Data["ca.crt"], s.Data["namespace"], len(s.Data["token"]))
		}
		if s.Annotations[corev1.ServiceAccountUIDKey] != string(sa.UID) {
			return false, fmt.Errorf("annotations: %v", s.Annotations)
		}
		token = string(s.Data["token"])
		return true, nil
	}, "token secret populated")

	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		tr, err := kc.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		want := "system:serviceaccount:" + ns + ":builder"
		if !tr.Status.Authenticated || tr.Status.User.Username != want || tr.Status.User.UID != string(sa.UID) {
			return false, fmt.Errorf("token review: %+v", tr.Status)
		}
		return true, nil
	}, "API server accepts the token")

	if err := kc.CoreV1().ServiceAccounts(ns).Delete(ctx, "builder", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, func(ctx context.Context) (bool, error) {
		_, err := kc.CoreV1().Secrets(ns).Get(ctx, "builder-token", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}, "token secret deleted with its service account")
}
