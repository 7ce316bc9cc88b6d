// Package history holds the ControllerRevision helpers the StatefulSet and
// DaemonSet controllers share: a pod template stored as a "$patch: replace"
// strategic-merge patch, its hash and the revision name <owner>-<hash>,
// creation that resolves hash collisions by bumping the owner's
// collisionCount, listing (with adoption and release) of an owner's
// revisions, and truncation of old history.
package history
