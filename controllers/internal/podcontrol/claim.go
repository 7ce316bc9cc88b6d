package podcontrol

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Claimer adopts and releases objects for one controller, by controllerRef
// and selector, as upstream's ControllerRefManager does.
type Claimer struct {
	// Client patches the claimed objects.
	Client client.Client
	// Owner is the controller and OwnerGVK its kind.
	Owner    client.Object
	OwnerGVK schema.GroupVersionKind
	// Selector selects the objects the owner wants.
	Selector labels.Selector
	// Matches, if set, further narrows what the owner wants (a
	// StatefulSet's pods must also be named after it).
	Matches func(client.Object) bool
	// CanAdopt, if set, is asked once before the first adoption; upstream
	// re-reads the owner from the API server there so that a stale cache
	// never adopts for an owner that is gone or being deleted.
	CanAdopt func(ctx context.Context) error

	adoptErr  error
	adoptDone bool
}

// Claim returns those of objs that belong to the owner after adopting the
// orphans its selector matches and releasing owned objects it no longer
// matches. Objects controlled by someone else are skipped.
func Claim[T client.Object](ctx context.Context, c *Claimer, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, o := range objs {
		ok, err := c.claim(ctx, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, o)
		}
	}
	if len(errs) > 0 {
		return claimed, fmt.Errorf("claim %d object(s): %w", len(errs), errs[0])
	}
	return claimed, nil
}

func (c *Claimer) claim(ctx context.Context, o client.Object) (bool, error) {
	match := MatchesSelector(c.Selector, o.GetLabels()) && (c.Matches == nil || c.Matches(o))
	if ref := metav1.GetControllerOf(o); ref != nil {
		if ref.UID != c.Owner.GetUID() {
			return false, nil
		}
		if match {
			return true, nil
		}
		if c.Owner.GetDeletionTimestamp() != nil {
			return false, nil
		}
		if err := c.release(ctx, o); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) || apierrors.IsConflict(err) {
				return false, nil
			}
			return false, err
		}
		return false, nil
	}
	if !match || c.Owner.GetDeletionTimestamp() != nil || o.GetDeletionTimestamp() != nil || o.GetNamespace() != c.Owner.GetNamespace() {
		return false, nil
	}
	if err := c.adopt(ctx, o); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (c *Claimer) adopt(ctx context.Context, o client.Object) error {
	if !c.adoptDone {
		c.adoptDone = true
		if c.CanAdopt != nil {
			c.adoptErr = c.CanAdopt(ctx)
		}
	}
	if c.adoptErr != nil {
		return fmt.Errorf("cannot adopt %s/%s: %w", o.GetNamespace(), o.GetName(), c.adoptErr)
	}
	ref := NewControllerRef(c.Owner, c.OwnerGVK)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []any{ref},
		"uid":             o.GetUID(),
	}})
	if err != nil {
		return err
	}
	if err := c.Client.Patch(ctx, o, client.RawPatch(types.StrategicMergePatchType, patch)); err != nil {
		return fmt.Errorf("adopt %s/%s: %w", o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

func (c *Claimer) release(ctx context.Context, o client.Object) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []any{map[string]any{"$patch": "delete", "uid": c.Owner.GetUID()}},
		"uid":             o.GetUID(),
	}})
	if err != nil {
		return err
	}
	if err := c.Client.Patch(ctx, o, client.RawPatch(types.StrategicMergePatchType, patch)); err != nil {
		return fmt.Errorf("release %s/%s: %w", o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

// RecheckOwner is a CanAdopt that reads the owner afresh through reader
// (use an uncached reader, e.g. the manager's APIReader) and refuses when it
// is gone, was replaced (another UID) or is being deleted.
func RecheckOwner(reader client.Reader, owner client.Object, fresh client.Object) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := reader.Get(ctx, client.ObjectKeyFromObject(owner), fresh); err != nil {
			return err
		}
		if fresh.GetUID() != owner.GetUID() {
			return fmt.Errorf("original %s/%s is gone: got uid %v, wanted %v", owner.GetNamespace(), owner.GetName(), fresh.GetUID(), owner.GetUID())
		}
		if fresh.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s/%s has just been deleted at %v", owner.GetNamespace(), owner.GetName(), fresh.GetDeletionTimestamp())
		}
		return nil
	}
}
