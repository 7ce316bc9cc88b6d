// Package images builds container images locally, without a registry: a small
// busybox image from the node's static busybox binary, written as a docker or
// OCI archive or streamed straight into the runtime. Pulling and storing
// images is the runtime package's job.
package images
