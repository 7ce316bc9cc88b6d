// Package mountinfo reads the calling process's mount table
// (/proc/self/mountinfo): which mount points lie at or below a directory,
// in an order they can be unmounted in.
package mountinfo
