// Package persistentvolume is the persistent volume binder
// ("persistentvolume-binder"): it binds pending PersistentVolumeClaims to
// Available PersistentVolumes (static provisioning; matching by access
// modes, smallest capacity that fits, storage class, selector, volume mode
// and node affinity, honouring volumeName and claimRef pre-binding), in two
// phases (PV.spec.claimRef, then PVC.spec.volumeName with the
// pv.kubernetes.io/bind-completed and bound-by-controller annotations),
// keeps both objects' phases (Available, Bound, Released, Failed; Pending,
// Bound, Lost), and reclaims the volumes of deleted claims: Retain leaves
// them Released, Delete deletes hostPath and local PV objects (there is no
// storage to deprovision), Recycle is refused. Claims of WaitForFirstConsumer
// classes wait for the scheduler's volume.kubernetes.io/selected-node
// annotation and then get a volume whose node affinity admits that node.
// Claims nothing matches are assigned the default class retroactively, or
// left to an external provisioner of their class.
package persistentvolume
