// Package podautoscaler is the horizontal pod autoscaler controller
// ("horizontalpodautoscaling"): every sync period it reads each autoscaling/v2
// HorizontalPodAutoscaler's target through its /scale subresource, computes
// the desired replicas from resource metrics (metrics.k8s.io pod metrics,
// utilization of requests or average value, per pod or per container) with
// upstream's replica calculation (tolerance 0.1, unready and missing pods,
// CPU initialization period), applies minReplicas/maxReplicas and either the
// default scale-up limit and five-minute downscale stabilization or the
// HPA's behavior (stabilization windows, Pods/Percent policies, select
// policy), writes the new scale and keeps status (currentReplicas,
// desiredReplicas, currentMetrics, lastScaleTime, and the AbleToScale,
// ScalingActive and ScalingLimited conditions with upstream's reasons).
// When the metrics API is not served the HPA gets ScalingActive=False
// FailedGetResourceMetric and the target is left alone. Pods, Object and
// External metrics (custom and external metrics APIs) are not supported and
// are reported as failed metrics.
package podautoscaler
