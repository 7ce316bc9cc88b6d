// Package core declares the core/v1 resources Skiff serves: each as a
// registry.Definition with its validation, selectable fields and
// subresources. Resources with much behaviour of their own have their own
// subpackage (namespace).
package core
