// Package limitranger provides the LimitRanger admission plugin: the
// LimitRanges of a namespace default the requests and limits of new pods'
// containers (type Container default/defaultRequest) and bound containers,
// pods and persistent volume claims (min, max, maxLimitRequestRatio).
package limitranger
