// Package serviceaccount is Skiff's ServiceAccount admission plugin: it
// defaults a pod's service account, checks that it exists, projects its API
// token into the pod and enforces the service account's mountable secrets.
// It does not issue or sign tokens; that is the TokenRequest API's job.
package serviceaccount
