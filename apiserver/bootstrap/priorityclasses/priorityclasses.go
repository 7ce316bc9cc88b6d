package priorityclasses

import (
	"context"
	"fmt"
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver/validation/scheduling"
)

// retryInterval is how long Ensure waits between passes while the server
// refuses reads or writes (upstream polls every second; a server that is
// starting accepts writes within milliseconds, and readiness waits on this).
const retryInterval = 50 * time.Millisecond

// Objects returns new copies of the bootstrap PriorityClasses. Their
// preemption policy is left for the server to default.
func Objects() []*schedulingv1.PriorityClass {
	return scheduling.SystemPriorityClasses()
}

// Ensure creates every bootstrap PriorityClass that does not exist yet.
// Existing classes are left as they are. A pass that meets an error the
// server may outgrow (anything but NotFound on a read; ServiceUnavailable,
// a timeout or too many requests on a create) is retried every retryInterval until
// it succeeds or ctx ends; any other create error is returned at once.
func Ensure(ctx context.Context, client kubernetes.Interface) error {
	logger := klog.FromContext(ctx)
	classes := client.SchedulingV1().PriorityClasses()
	err := wait.PollUntilContextCancel(ctx, retryInterval, true, func(ctx context.Context) (bool, error) {
		for _, pc := range Objects() {
			_, err := classes.Get(ctx, pc.Name, metav1.GetOptions{})
			if err == nil {
				continue
			}
			if !apierrors.IsNotFound(err) {
				logger.V(1).Info("Retrying: cannot read bootstrap PriorityClass", "name", pc.Name, "err", err)
				return false, nil
			}
			_, err = classes.Create(ctx, pc, metav1.CreateOptions{})
			switch {
			case err == nil:
				logger.V(1).Info("Created bootstrap PriorityClass", "name", pc.Name, "value", pc.Value)
			case apierrors.IsAlreadyExists(err):
			case retriable(err):
				logger.V(1).Info("Retrying: cannot create bootstrap PriorityClass", "name", pc.Name, "err", err)
				return false, nil
			default:
				return false, fmt.Errorf("create PriorityClass %s: %w", pc.Name, err)
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ensure bootstrap priority classes: %w", err)
	}
	return nil
}

// retriable errors are those of a server not yet (or briefly not) able to
// take writes.
func retriable(err error) bool {
	return apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
}
