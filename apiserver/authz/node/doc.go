// Package node is Skiff's Node authorizer, kube-apiserver's "Node"
// authorization mode: it lets a kubelet, authenticated as system:node:<name>
// in the system:nodes group, read the secrets, config maps, persistent volume
// claims and volumes, resource claims, volume attachments and service
// accounts that the pods bound to its node use, and nothing of other nodes'
// pods. It keeps a graph of those relationships, fed by shared informers of
// pods, persistent volumes, volume attachments and resource slices; other
// resources are judged by the static system:node rules. It only ever allows
// or has no opinion, and it does not check what a write changes: the
// NodeRestriction admission plugin (apiserver/admission/noderestriction)
// does that.
package node
