package history

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxPrefixLength keeps <prefix>-<hash> within a DNS subdomain name.
const maxPrefixLength = 223

// TemplatePatch is the revision data for a pod template: the strategic
// merge patch {"spec":{"template":{...,"$patch":"replace"}}} (keys sorted,
// as encoding a map yields), which restores exactly that template.
func TemplatePatch(template *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("encode pod template: %w", err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		return nil, fmt.Errorf("decode pod template: %w", err)
	}
	tmpl["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
}

// TemplateFromPatch is the pod template a TemplatePatch carries.
func TemplateFromPatch(raw []byte) (*corev1.PodTemplateSpec, error) {
	var obj struct {
		Spec struct {
			Template *corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("decode revision data: %w", err)
	}
	if obj.Spec.Template == nil {
		return nil, fmt.Errorf("revision data holds no pod template")
	}
	return obj.Spec.Template, nil
}

// Hash is the revision hash of data with collisionCount mixed in: FNV-32 of
// the bytes and the decimal count, encoded with rand.SafeEncodeString.
func Hash(data []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(data)
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// Name is the revision name <prefix>-<hash>, the prefix cut to fit.
func Name(prefix, hash string) string {
	if len(prefix) > maxPrefixLength {
		prefix = prefix[:maxPrefixLength]
	}
	return prefix + "-" + hash
}

// New builds (does not create) revision number revision of owner holding
// data, labelled with templateLabels and the hash label, named Name(owner,
// Hash(data, collisionCount)) and controlled by owner.
func New(owner client.Object, gvk schema.GroupVersionKind, templateLabels map[string]string, data []byte, revision int64, collisionCount *int32) *appsv1.ControllerRevision {
	lbls := make(map[string]string, len(templateLabels)+1)
	for k, v := range templateLabels {
		lbls[k] = v
	}
	hash := Hash(data, collisionCount)
	lbls[appsv1.ControllerRevisionHashLabelKey] = hash
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            Name(owner.GetName(), hash),
			Namespace:       owner.GetNamespace(),
			Labels:          lbls,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, gvk)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
}

// Equal reports whether two revisions hold the same data.
func Equal(a, b *appsv1.ControllerRevision) bool {
	return bytes.Equal(a.Data.Raw, b.Data.Raw)
}

// FindEqual returns the revisions among revs holding rev's data.
func FindEqual(revs []*appsv1.ControllerRevision, rev *appsv1.ControllerRevision) []*appsv1.ControllerRevision {
	var out []*appsv1.ControllerRevision
	for _, r := range revs {
		if Equal(r, rev) {
			out = append(out, r)
		}
	}
	return out
}

// Sort orders revisions by revision number, then creation, then name.
func Sort(revs []*appsv1.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// Next is the revision number after the newest of revs (1 for none).
func Next(revs []*appsv1.ControllerRevision) int64 {
	var max int64
	for _, r := range revs {
		if r.Revision > max {
			max = r.Revision
		}
	}
	return max + 1
}

// Create creates rev, choosing its name from its data and *collisionCount.
// When a revision of that name exists with the same data (a write the cache
// has not shown yet) it is returned; when it holds other data (a hash
// collision) *collisionCount is incremented and the name chosen again. The
// caller persists the new collisionCount in its owner's status.
func Create(ctx context.Context, c client.Client, rev *appsv1.ControllerRevision, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	if collisionCount == nil {
		return nil, fmt.Errorf("create revision: nil collision count")
	}
	base := rev.Labels[appsv1.ControllerRevisionHashLabelKey]
	prefix := rev.Name[:len(rev.Name)-len(base)-1]
	for {
		clone := rev.DeepCopy()
		hash := Hash(clone.Data.Raw, collisionCount)
		clone.Name = Name(prefix, hash)
		clone.Labels[appsv1.ControllerRevisionHashLabelKey] = hash
		err := c.Create(ctx, clone)
		if err == nil {
			return clone, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create revision %s/%s: %w", clone.Namespace, clone.Name, err)
		}
		existing := &appsv1.ControllerRevision{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(clone), existing); err != nil {
			return nil, fmt.Errorf("get revision %s/%s: %w", clone.Namespace, clone.Name, err)
		}
		if Equal(existing, clone) && metav1.IsControlledBy(existing, ownerOf(rev)) {
			return existing, nil
		}
		*collisionCount++
	}
}

// ownerOf is a stand-in object carrying rev's controller UID, for
// metav1.IsControlledBy.
func ownerOf(rev *appsv1.ControllerRevision) metav1.Object {
	m := &metav1.ObjectMeta{}
	if ref := metav1.GetControllerOf(rev); ref != nil {
		m.UID = ref.UID
	}
	return m
}

// UpdateRevision sets rev's revision number, returning the updated copy.
func UpdateRevision(ctx context.Context, c client.Client, rev *appsv1.ControllerRevision, revision int64) (*appsv1.ControllerRevision, error) {
	if rev.Revision == revision {
		return rev, nil
	}
	clone := rev.DeepCopy()
	clone.Revision = revision
	if err := c.Update(ctx, clone); err != nil {
		return nil, fmt.Errorf("update revision %s/%s to %d: %w", rev.Namespace, rev.Name, revision, err)
	}
	return clone, nil
}

// List returns owner's revisions in its namespace: those it controls whose
// labels match selector, plus orphans matching selector, which it adopts
// (as the upstream ref manager does, unless owner is being deleted). Ones it
// controls that no longer match are released. The result is sorted.
func List(ctx context.Context, c client.Client, owner client.Object, gvk schema.GroupVersionKind, selector labels.Selector) ([]*appsv1.ControllerRevision, error) {
	var list appsv1.ControllerRevisionList
	if err := c.List(ctx, &list, client.InNamespace(owner.GetNamespace())); err != nil {
		return nil, fmt.Errorf("list revisions: %w", err)
	}
	var out []*appsv1.ControllerRevision
	for i := range list.Items {
		rev := &list.Items[i]
		ref := metav1.GetControllerOf(rev)
		matches := selector.Matches(labels.Set(rev.Labels))
		switch {
		case ref != nil && ref.UID == owner.GetUID():
			if matches {
				out = append(out, rev)
				continue
			}
			if err := patchOwnerRefs(ctx, c, rev, fmt.Sprintf(`{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],"uid":%q}}`, owner.GetUID(), rev.UID)); err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("release revision %s: %w", rev.Name, err)
			}
		case ref == nil && matches && owner.GetDeletionTimestamp() == nil && rev.DeletionTimestamp == nil:
			cref := metav1.NewControllerRef(owner, gvk)
			refJSON, err := json.Marshal(cref)
			if err != nil {
				return nil, err
			}
			if err := patchOwnerRefs(ctx, c, rev, fmt.Sprintf(`{"metadata":{"ownerReferences":[%s],"uid":%q}}`, refJSON, rev.UID)); err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) || apierrors.IsConflict(err) {
					continue
				}
				return nil, fmt.Errorf("adopt revision %s: %w", rev.Name, err)
			}
			adopted := rev.DeepCopy()
			adopted.OwnerReferences = append(adopted.OwnerReferences, *cref)
			out = append(out, adopted)
		}
	}
	Sort(out)
	return out, nil
}

func patchOwnerRefs(ctx context.Context, c client.Client, rev *appsv1.ControllerRevision, patch string) error {
	return c.Patch(ctx, rev.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, []byte(patch)))
}

// Truncate deletes the oldest revisions of revs (sorted) that are not live,
// leaving at most limit non-live ones. live names revisions in use.
func Truncate(ctx context.Context, c client.Client, revs []*appsv1.ControllerRevision, live map[string]bool, limit int32) error {
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	excess := len(old) - int(limit)
	for i := 0; i < excess; i++ {
		uid := old[i].UID
		if err := c.Delete(ctx, old[i], client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s/%s: %w", old[i].Namespace, old[i].Name, err)
		}
	}
	return nil
}
