// Package controllers is the root of Skiff's control loops: one
// controller-runtime reconciler per subpackage, plus the scheduler. Controllers
// meet the rest of Skiff only through the API server.
package controllers
