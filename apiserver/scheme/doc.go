// Package scheme holds the runtime.Scheme and codecs of Skiff's built-in API
// server. Skiff has no internal API types: every served external type from
// k8s.io/api is also registered as its group's __internal version, so the
// generic machinery's conversions to and from __internal only rewrite
// TypeMeta. It is not the scheme for clients (use client-go's).
package scheme
