// Package defaulttolerationseconds provides the DefaultTolerationSeconds
// admission plugin: pods that do not tolerate the not-ready and unreachable
// NoExecute taints get tolerations for them bounded to 300 seconds, so
// their pods are evicted five minutes after their node fails.
package defaulttolerationseconds
