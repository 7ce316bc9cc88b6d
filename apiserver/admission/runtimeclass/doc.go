// Package runtimeclass provides the RuntimeClass admission plugin: a pod
// naming a RuntimeClass gets the class's pod overhead and its scheduling
// constraints (node selector and tolerations); a pod naming a class that
// does not exist, or whose overhead disagrees with it, is rejected.
package runtimeclass
