// Package all lists every controller of Skiff's controller manager, in the
// order they are set up; `skiff controller-manager --controllers` selects
// among them by name.
package all
