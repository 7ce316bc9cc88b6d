package persistentvolume

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

// Event reasons, as upstream's PV controller emits them.
const (
	EventFailedBinding        = "FailedBinding"
	EventVolumeMismatch       = "VolumeMismatch"
	EventWaitForFirstConsumer = "WaitForFirstConsumer"
	EventExternalProvisioning = "ExternalProvisioning"
	EventProvisioningFailed   = "ProvisioningFailed"
	EventVolumeFailedRecycle  = "VolumeFailedRecycle"
	EventVolumeFailedDelete   = "VolumeFailedDelete"
	EventExternalDeleting     = "ExternalDeleting"
	EventClaimLost            = "ClaimLost"
	EventClaimMisbound        = "ClaimMisbound"
	EventUnknownReclaimPolicy = "VolumeUnknownReclaimPolicy"
)

// SyncPeriod is how often pending claims and bound volumes are looked at
// again (--pvclaimbinder-sync-period's default).
const SyncPeriod = 15 * time.Second

// Descriptor is the persistent volume binder.
var Descriptor = controllers.Descriptor{Name: "persistentvolume-binder", Setup: Setup}

// Setup registers the claim and volume reconcilers with c.Manager.
func Setup(ctx context.Context, c controllers.Context) error {
	b := &Binder{
		Client:   c.Manager.GetClient(),
		Reader:   c.Manager.GetAPIReader(),
		Recorder: c.Manager.GetEventRecorderFor("persistentvolume-controller"),
	}
	// One worker each, as upstream: binding decisions for different claims
	// must not race for the same volume (the API's optimistic concurrency
	// backs this up when the cache lags).
	if err := ctrl.NewControllerManagedBy(c.Manager).
		Named("persistentvolume-binder-claim").
		For(&corev1.PersistentVolumeClaim{}).
		Watches(&corev1.PersistentVolume{}, handler.EnqueueRequestsFromMapFunc(b.claimsOfVolume)).
		Watches(&storagev1.StorageClass{}, handler.EnqueueRequestsFromMapFunc(b.pendingClaims)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(reconcile.Func(b.ReconcileClaim)); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(c.Manager).
		Named("persistentvolume-binder-volume").
		For(&corev1.PersistentVolume{}).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(b.volumesOfClaim)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(reconcile.Func(b.ReconcileVolume))
}

// Binder binds claims to volumes and keeps their phases.
type Binder struct {
	// Client is the manager's cached client.
	Client client.Client
	// Reader reads the API directly where the cache may lag (a claim a
	// volume is bound to that the cache does not have yet).
	Reader   client.Reader
	Recorder record.EventRecorder
}

// ReconcileClaim syncs one claim.
func (b *Binder) ReconcileClaim(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &corev1.PersistentVolumeClaim{}
	if err := b.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	var err error
	var pending bool
	if metav1.HasAnnotation(claim.ObjectMeta, storagehelpers.AnnBindCompleted) {
		err = b.syncBoundClaim(ctx, claim)
	} else {
		pending, err = b.syncUnboundClaim(ctx, claim)
	}
	if apierrors.IsConflict(err) {
		return reconcile.Result{Requeue: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("claim %s: %w", req.NamespacedName, err)
	}
	if pending {
		return reconcile.Result{RequeueAfter: SyncPeriod}, nil
	}
	return reconcile.Result{}, nil
}

// syncUnboundClaim binds a claim that has not completed binding; pending
// reports that it is still waiting.
func (b *Binder) syncUnboundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) (bool, error) {
	log := ctrl.LoggerFrom(ctx)
	if claim.Spec.VolumeName != "" {
		return b.syncPreboundClaim(ctx, claim)
	}
	class, err := b.class(ctx, storagehelpers.GetPersistentVolumeClaimClass(claim))
	if err != nil {
		return true, err
	}
	delay := class != nil && class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	var node *corev1.Node
	if selected := claim.Annotations[storagehelpers.AnnSelectedNode]; delay && selected != "" {
		node = &corev1.Node{}
		if err := b.Client.Get(ctx, client.ObjectKey{Name: selected}, node); err != nil {
			if !apierrors.IsNotFound(err) {
				return true, fmt.Errorf("get selected node %s: %w", selected, err)
			}
			// A node known only by name: its hostname label is all we know.
			node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: selected, Labels: map[string]string{corev1.LabelHostname: selected}}}
		}
	}
	volumes, err := b.volumes(ctx)
	if err != nil {
		return true, err
	}
	pv, err := FindVolume(claim, volumes, node, delay)
	if err != nil {
		return true, err
	}
	if pv != nil {
		log.V(4).Info("Binding claim to volume", "volume", pv.Name)
		return false, b.bind(ctx, pv, claim)
	}
	// Nothing fits: retroactive default class first.
	if !storagehelpers.PersistentVolumeClaimHasClass(claim) {
		classes := &storagev1.StorageClassList{}
		if err := b.Client.List(ctx, classes); err != nil {
			return true, fmt.Errorf("list storage classes: %w", err)
		}
		if def := DefaultClass(classes.Items); def != nil {
			next := claim.DeepCopy()
			next.Spec.StorageClassName = &def.Name
			if err := b.Client.Update(ctx, next); err != nil {
				return true, fmt.Errorf("assign default storage class %s: %w", def.Name, err)
			}
			log.V(4).Info("Assigned default storage class to claim", "storageClassName", def.Name)
			return true, nil
		}
	}
	switch name := storagehelpers.GetPersistentVolumeClaimClass(claim); {
	case delay && node == nil:
		b.Recorder.Event(claim, corev1.EventTypeNormal, EventWaitForFirstConsumer, "waiting for first consumer to be created before binding")
	case name != "" && class == nil:
		b.Recorder.Event(claim, corev1.EventTypeWarning, EventProvisioningFailed, fmt.Sprintf("storageclass.storage.k8s.io %q not found", name))
	case name != "" && class.Provisioner != NoProvisioner:
		if err := b.provisionExternally(ctx, claim, class); err != nil {
			return true, err
		}
		return true, nil
	case name == "":
		b.Recorder.Event(claim, corev1.EventTypeNormal, EventFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	}
	return true, b.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
}

// provisionExternally hands the claim to its class's external provisioner
// (no in-tree provisioner runs in Skiff).
func (b *Binder) provisionExternally(ctx context.Context, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	if claim.Annotations[storagehelpers.AnnStorageProvisioner] != class.Provisioner || claim.Annotations[storagehelpers.AnnBetaStorageProvisioner] != class.Provisioner {
		next := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, storagehelpers.AnnStorageProvisioner, class.Provisioner)
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, storagehelpers.AnnBetaStorageProvisioner, class.Provisioner)
		if err := b.Client.Update(ctx, next); err != nil {
			return fmt.Errorf("annotate claim for provisioner %s: %w", class.Provisioner, err)
		}
		claim = next
	}
	b.Recorder.Event(claim, corev1.EventTypeNormal, EventExternalProvisioning,
		fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.", class.Provisioner))
	return b.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
}

// syncPreboundClaim binds a claim that names its volume.
func (b *Binder) syncPreboundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) (bool, error) {
	pv := &corev1.PersistentVolume{}
	if err := b.Client.Get(ctx, client.ObjectKey{Name: claim.Spec.VolumeName}, pv); err != nil {
		if apierrors.IsNotFound(err) {
			return true, b.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		}
		return true, fmt.Errorf("get volume %s: %w", claim.Spec.VolumeName, err)
	}
	switch {
	case pv.Spec.ClaimRef == nil:
		if err := CheckVolumeSatisfiesClaim(pv, claim); err != nil {
			b.Recorder.Event(claim, corev1.EventTypeWarning, EventVolumeMismatch, fmt.Sprintf("Cannot bind to requested volume %q: %s", pv.Name, err))
			return true, b.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		}
		return false, b.bind(ctx, pv, claim)
	case storagehelpers.IsVolumeBoundToClaim(pv, claim):
		return false, b.bind(ctx, pv, claim)
	default:
		b.Recorder.Event(claim, corev1.EventTypeWarning, EventFailedBinding, fmt.Sprintf("volume %q already bound to a different claim.", pv.Name))
		if metav1.HasAnnotation(claim.ObjectMeta, storagehelpers.AnnBoundByController) {
			return true, fmt.Errorf("invalid binding of claim to volume %q: volume already claimed by %s/%s", pv.Name, pv.Spec.ClaimRef.Namespace, pv.Spec.ClaimRef.Name)
		}
		return true, b.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
	}
}

// syncBoundClaim keeps a bound claim bound, or marks it Lost.
func (b *Binder) syncBoundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName == "" {
		return b.setClaimPhaseWithEvent(ctx, claim, corev1.ClaimLost, EventClaimLost, "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
	}
	pv := &corev1.PersistentVolume{}
	if err := b.Client.Get(ctx, client.ObjectKey{Name: claim.Spec.VolumeName}, pv); err != nil {
		if apierrors.IsNotFound(err) {
			if err := b.Reader.Get(ctx, client.ObjectKey{Name: claim.Spec.VolumeName}, pv); err == nil {
				return nil // the cache lags; the volume's event will bring us back
			}
			return b.setClaimPhaseWithEvent(ctx, claim, corev1.ClaimLost, EventClaimLost, "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
		}
		return fmt.Errorf("get volume %s: %w", claim.Spec.VolumeName, err)
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID == claim.UID {
		return b.bind(ctx, pv, claim)
	}
	return b.setClaimPhaseWithEvent(ctx, claim, corev1.ClaimLost, EventClaimMisbound, "Two claims are bound to the same volume, this one is bound incorrectly")
}

// bind binds volume and claim to each other, each step saved before the
// next: volume claimRef, volume phase, claim volumeName and annotations,
// claim status. Any step that fails is redone by the next sync.
func (b *Binder) bind(ctx context.Context, pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	bound, dirty, err := storagehelpers.GetBindVolumeToClaim(pv, claim)
	if err != nil {
		return err
	}
	if dirty {
		if err := b.Client.Update(ctx, bound); err != nil {
			return fmt.Errorf("bind volume %s: %w", pv.Name, err)
		}
	}
	pv = bound
	if pv.Status.Phase != corev1.VolumeBound {
		if err := b.setVolumePhase(ctx, pv, corev1.VolumeBound, ""); err != nil {
			return err
		}
	}
	next := claim.DeepCopy()
	if next.Spec.VolumeName != pv.Name {
		next.Spec.VolumeName = pv.Name
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, storagehelpers.AnnBoundByController, "yes")
	}
	metav1.SetMetaDataAnnotation(&next.ObjectMeta, storagehelpers.AnnBindCompleted, "yes")
	if !apiequality.Semantic.DeepEqual(next.ObjectMeta, claim.ObjectMeta) || next.Spec.VolumeName != claim.Spec.VolumeName {
		if err := b.Client.Update(ctx, next); err != nil {
			return fmt.Errorf("bind claim to volume %s: %w", pv.Name, err)
		}
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Bound claim to volume", "volume", pv.Name)
	return b.setClaimPhase(ctx, next, corev1.ClaimBound, pv)
}

// setClaimPhase saves phase (and, with a volume, its access modes and
// capacity) into claim's status if they differ.
func (b *Binder) setClaimPhase(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume) error {
	next := claim.DeepCopy()
	next.Status.Phase = phase
	if pv != nil {
		next.Status.AccessModes = pv.Spec.AccessModes
		next.Status.Capacity = pv.Spec.Capacity.DeepCopy()
	} else if phase == corev1.ClaimLost {
		next.Status.AccessModes = nil
		next.Status.Capacity = nil
	}
	if apiequality.Semantic.DeepEqual(next.Status, claim.Status) {
		return nil
	}
	if err := b.Client.Status().Update(ctx, next); err != nil {
		return fmt.Errorf("set claim phase %s: %w", phase, err)
	}
	*claim = *next
	return nil
}

func (b *Binder) setClaimPhaseWithEvent(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, reason, msg string) error {
	if claim.Status.Phase == phase {
		return nil
	}
	if err := b.setClaimPhase(ctx, claim, phase, nil); err != nil {
		return err
	}
	b.Recorder.Event(claim, corev1.EventTypeWarning, reason, msg)
	return nil
}

// setVolumePhase saves a volume's phase (and message) if they differ.
func (b *Binder) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, msg string) error {
	if pv.Status.Phase == phase && pv.Status.Message == msg {
		return nil
	}
	next := pv.DeepCopy()
	next.Status.Phase, next.Status.Message = phase, msg
	now := metav1.Now()
	next.Status.LastPhaseTransitionTime = &now
	if err := b.Client.Status().Update(ctx, next); err != nil {
		return fmt.Errorf("set volume %s phase %s: %w", pv.Name, phase, err)
	}
	*pv = *next
	return nil
}

func (b *Binder) setVolumePhaseWithEvent(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, reason, msg string) error {
	if pv.Status.Phase == phase {
		return nil
	}
	if err := b.setVolumePhase(ctx, pv, phase, msg); err != nil {
		return err
	}
	b.Recorder.Event(pv, corev1.EventTypeWarning, reason, msg)
	return nil
}

// ReconcileVolume syncs one volume.
func (b *Binder) ReconcileVolume(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pv := &corev1.PersistentVolume{}
	if err := b.Client.Get(ctx, req.NamespacedName, pv); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	resync, err := b.syncVolume(ctx, pv)
	if apierrors.IsConflict(err) {
		return reconcile.Result{Requeue: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("volume %s: %w", pv.Name, err)
	}
	if resync {
		return reconcile.Result{RequeueAfter: SyncPeriod}, nil
	}
	return reconcile.Result{}, nil
}

func (b *Binder) syncVolume(ctx context.Context, pv *corev1.PersistentVolume) (bool, error) {
	log := ctrl.LoggerFrom(ctx)
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID == "" {
		// Unbound, or pre-bound to a claim that may not exist yet.
		if pv.Status.Phase == corev1.VolumeFailed && pv.Spec.ClaimRef == nil {
			return false, nil
		}
		return false, b.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "")
	}
	ref := pv.Spec.ClaimRef
	claim, err := b.claimOf(ctx, pv)
	if err != nil {
		return true, err
	}
	switch {
	case claim == nil:
		// The claim is gone: release and reclaim.
		if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
			if err := b.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
				return true, err
			}
			log.V(2).Info("Volume released", "claim", ref.Namespace+"/"+ref.Name)
		}
		return false, b.reclaim(ctx, pv)
	case claim.Spec.VolumeName == "":
		if storagehelpers.CheckVolumeModeMismatches(&claim.Spec, &pv.Spec) {
			b.Recorder.Event(pv, corev1.EventTypeWarning, EventVolumeMismatch, fmt.Sprintf("Cannot bind PersistentVolume to requested PersistentVolumeClaim %q due to incompatible volumeMode.", claim.Name))
			b.Recorder.Event(claim, corev1.EventTypeWarning, EventVolumeMismatch, fmt.Sprintf("Cannot bind PersistentVolume %q to requested PersistentVolumeClaim due to incompatible volumeMode.", pv.Name))
			return true, nil
		}
		// Half bound; the claim's sync (enqueued by the claim watch on
		// this volume) finishes it.
		return true, nil
	case claim.Spec.VolumeName == pv.Name:
		return true, b.setVolumePhase(ctx, pv, corev1.VolumeBound, "")
	default:
		// The claim is bound to another volume. A volume provisioned for
		// it is not needed any more; any other is unbound.
		if metav1.HasAnnotation(pv.ObjectMeta, storagehelpers.AnnDynamicallyProvisioned) && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
			if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
				if err := b.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
					return true, err
				}
			}
			return false, b.reclaim(ctx, pv)
		}
		return false, b.unbind(ctx, pv)
	}
}

// unbind undoes the volume half of a binding: a controller-made binding is
// dropped, a user's pre-binding keeps the claim's name.
func (b *Binder) unbind(ctx context.Context, pv *corev1.PersistentVolume) error {
	next := pv.DeepCopy()
	if metav1.HasAnnotation(pv.ObjectMeta, storagehelpers.AnnBoundByController) {
		next.Spec.ClaimRef = nil
		delete(next.Annotations, storagehelpers.AnnBoundByController)
		if len(next.Annotations) == 0 {
			next.Annotations = nil
		}
	} else {
		next.Spec.ClaimRef.UID = ""
	}
	if err := b.Client.Update(ctx, next); err != nil {
		return fmt.Errorf("unbind volume: %w", err)
	}
	return b.setVolumePhase(ctx, next, corev1.VolumeAvailable, "")
}

// reclaim carries out a released volume's reclaim policy.
func (b *Binder) reclaim(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Status.Phase == corev1.VolumeFailed {
		return nil
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain, "":
		return nil
	case corev1.PersistentVolumeReclaimRecycle:
		return b.setVolumePhaseWithEvent(ctx, pv, corev1.VolumeFailed, EventVolumeFailedRecycle, "No recycler plugin found for the volume!")
	case corev1.PersistentVolumeReclaimDelete:
		if pv.DeletionTimestamp != nil {
			return nil
		}
		if p := pv.Annotations[storagehelpers.AnnDynamicallyProvisioned]; p != "" && !IsDeletable(pv) {
			b.Recorder.Event(pv, corev1.EventTypeNormal, EventExternalDeleting,
				fmt.Sprintf("Waiting for a volume to be deleted either by the external provisioner '%s' or manually by the system administrator. If volume deletion is delayed, please verify that the provisioner is running and correctly registered.", p))
			return nil
		}
		if !IsDeletable(pv) {
			return b.setVolumePhaseWithEvent(ctx, pv, corev1.VolumeFailed, EventVolumeFailedDelete,
				fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", pv.Name))
		}
		if err := b.Client.Delete(ctx, pv, client.Preconditions{UID: &pv.UID}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete volume: %w", err)
		}
		ctrl.LoggerFrom(ctx).V(2).Info("Deleted released volume")
		return nil
	default:
		return b.setVolumePhaseWithEvent(ctx, pv, corev1.VolumeFailed, EventUnknownReclaimPolicy, "Volume has unrecognized PersistentVolumeReclaimPolicy")
	}
}

// claimOf returns the claim pv is bound to, nil when it no longer exists
// (or a different claim of that name does), asking the API when the cache
// does not agree.
func (b *Binder) claimOf(ctx context.Context, pv *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	ref := pv.Spec.ClaimRef
	key := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
	claim := &corev1.PersistentVolumeClaim{}
	err := b.Client.Get(ctx, key, claim)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get claim %s: %w", key, err)
	}
	if err == nil && claim.UID == ref.UID {
		return claim, nil
	}
	if err := b.Reader.Get(ctx, key, claim); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get claim %s: %w", key, err)
	}
	if claim.UID != ref.UID {
		return nil, nil
	}
	return claim, nil
}

func (b *Binder) class(ctx context.Context, name string) (*storagev1.StorageClass, error) {
	if name == "" {
		return nil, nil
	}
	c := &storagev1.StorageClass{}
	if err := b.Client.Get(ctx, client.ObjectKey{Name: name}, c); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get storage class %s: %w", name, err)
	}
	return c, nil
}

func (b *Binder) volumes(ctx context.Context) ([]*corev1.PersistentVolume, error) {
	list := &corev1.PersistentVolumeList{}
	if err := b.Client.List(ctx, list); err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	out := make([]*corev1.PersistentVolume, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// claimsOfVolume maps a volume to the claim it is (pre-)bound to, or, for
// a volume free to bind, to every pending claim.
func (b *Binder) claimsOfVolume(ctx context.Context, o client.Object) []reconcile.Request {
	pv, ok := o.(*corev1.PersistentVolume)
	if !ok {
		return nil
	}
	if ref := pv.Spec.ClaimRef; ref != nil {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}}}
	}
	return b.pendingClaims(ctx, o)
}

// pendingClaims lists every claim that has not completed binding.
func (b *Binder) pendingClaims(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &corev1.PersistentVolumeClaimList{}
	if err := b.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List claims")
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if !metav1.HasAnnotation(list.Items[i].ObjectMeta, storagehelpers.AnnBindCompleted) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// volumesOfClaim maps a claim to the volume it names and the volumes bound
// to it.
func (b *Binder) volumesOfClaim(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	if claim, ok := o.(*corev1.PersistentVolumeClaim); ok && claim.Spec.VolumeName != "" {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: claim.Spec.VolumeName}})
	}
	list := &corev1.PersistentVolumeList{}
	if err := b.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List volumes")
		return out
	}
	for i := range list.Items {
		if ref := list.Items[i].Spec.ClaimRef; ref != nil && ref.Namespace == o.GetNamespace() && ref.Name == o.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: list.Items[i].Name}})
		}
	}
	return out
}
