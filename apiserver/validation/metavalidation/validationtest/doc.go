// Package validationtest is the test kit of Skiff's validation packages:
// exact matching of field.ErrorLists and a runner for testdata/valid-*.yaml
// and testdata/invalid-*.yaml fixtures. Only tests import it.
package validationtest
