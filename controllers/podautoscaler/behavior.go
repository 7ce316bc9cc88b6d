package podautoscaler

import (
	"math"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/utils/ptr"
)

// DefaultDownscaleStabilization is
// --horizontal-pod-autoscaler-downscale-stabilization's default.
const DefaultDownscaleStabilization = 5 * time.Minute

// Without behavior a scale up goes to at most max(2*current, 4).
const (
	scaleUpLimitFactor  = 2.0
	scaleUpLimitMinimum = 4.0
)

// Limit is what normalization did: the AbleToScale reason and message of
// the stabilization step and the ScalingLimited reason and message and
// whether the limit applied.
type Limit struct {
	StabilizedReason, StabilizedMessage string
	Stabilized                          bool
	LimitReason, LimitMessage           string
	Limited                             bool
}

type recommendation struct {
	replicas int32
	at       time.Time
}

type scaleEvent struct {
	change   int32
	at       time.Time
	outdated bool
}

// History is the in-memory per-HPA record of recent recommendations and
// scale events normalization works from (as upstream, it is not persisted:
// a restarted controller starts with empty windows).
type History struct {
	Now func() time.Time
	// DownscaleStabilization is the window of HPAs without behavior, and
	// the default scale-down window of those with.
	DownscaleStabilization time.Duration

	mu              sync.Mutex
	recommendations map[string][]recommendation
	scaleUps        map[string][]scaleEvent
	scaleDowns      map[string][]scaleEvent
}

// NewHistory returns an empty History.
func NewHistory(now func() time.Time, downscaleStabilization time.Duration) *History {
	if now == nil {
		now = time.Now
	}
	return &History{
		Now: now, DownscaleStabilization: downscaleStabilization,
		recommendations: map[string][]recommendation{},
		scaleUps:        map[string][]scaleEvent{},
		scaleDowns:      map[string][]scaleEvent{},
	}
}

// Forget drops an HPA's history.
func (h *History) Forget(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.recommendations, key)
	delete(h.scaleUps, key)
	delete(h.scaleDowns, key)
}

// Init records the current replicas as the first recommendation of a new
// HPA, so the downscale window starts from where it is.
func (h *History) Init(key string, current int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.recommendations[key]; !ok {
		h.recommendations[key] = []recommendation{{current, h.Now()}}
	}
}

// record replaces the oldest sample older than every window, or appends.
func (h *History) record(key string, r int32, isOld func(time.Time) bool) {
	recs := h.recommendations[key]
	for i := range recs {
		if isOld(recs[i].at) {
			recs[i] = recommendation{r, h.Now()}
			return
		}
	}
	h.recommendations[key] = append(recs, recommendation{r, h.Now()})
}

// Normalize turns a metric-based desired count into the one to apply:
// without behavior, downscale stabilization (highest recommendation in the
// window), then min/max and the default scale-up limit.
func (h *History) Normalize(key string, current, desired, minReplicas, maxReplicas int32) (int32, Limit) {
	h.mu.Lock()
	cutoff := h.Now().Add(-h.DownscaleStabilization)
	stabilized := desired
	for _, rec := range h.recommendations[key] {
		if !rec.at.Before(cutoff) && rec.replicas > stabilized {
			stabilized = rec.replicas
		}
	}
	h.record(key, desired, func(t time.Time) bool { return t.Before(cutoff) })
	h.mu.Unlock()

	var l Limit
	if stabilized != desired {
		l.StabilizedReason, l.StabilizedMessage, l.Stabilized = "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation", true
	} else {
		l.StabilizedReason, l.StabilizedMessage = "ReadyForNewScale", "recommended size matches current size"
	}
	upLimit := int32(math.Max(scaleUpLimitFactor*float64(current), scaleUpLimitMinimum))
	maxAllowed := maxReplicas
	reason, msg := "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	if maxReplicas > upLimit {
		maxAllowed = upLimit
		reason, msg = "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	}
	out := stabilized
	switch {
	case stabilized < minReplicas:
		out, reason, msg = minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	case stabilized > maxAllowed:
		out = maxAllowed
	default:
		reason, msg = "DesiredWithinRange", "the desired count is within the acceptable range"
	}
	l.LimitReason, l.LimitMessage, l.Limited = reason, msg, out != stabilized
	return out, l
}

// NormalizeWithBehavior is Normalize for an HPA with behavior: the
// scale-up and scale-down stabilization windows, then the scaling
// policies' rate limits against recent scale events, then min/max.
func (h *History) NormalizeWithBehavior(key string, b *autoscalingv2.HorizontalPodAutoscalerBehavior, current, desired, minReplicas, maxReplicas int32) (int32, Limit) {
	up := withScaleUpDefaults(b.ScaleUp)
	down := withScaleDownDefaults(b.ScaleDown, h.DownscaleStabilization)
	now := h.Now()

	h.mu.Lock()
	upCutoff := now.Add(-time.Duration(*up.StabilizationWindowSeconds) * time.Second)
	downCutoff := now.Add(-time.Duration(*down.StabilizationWindowSeconds) * time.Second)
	upRec, downRec := desired, desired
	for _, rec := range h.recommendations[key] {
		if rec.at.After(upCutoff) {
			upRec = min(upRec, rec.replicas)
		}
		if rec.at.After(downCutoff) {
			downRec = max(downRec, rec.replicas)
		}
	}
	h.record(key, desired, func(t time.Time) bool { return t.Before(upCutoff) && t.Before(downCutoff) })
	stabilized := current
	if stabilized < upRec {
		stabilized = upRec
	}
	if stabilized > downRec {
		stabilized = downRec
	}
	var l Limit
	if stabilized != desired {
		l.Stabilized = true
		if desired >= current {
			l.StabilizedReason, l.StabilizedMessage = "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
		} else {
			l.StabilizedReason, l.StabilizedMessage = "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
		}
	} else {
		l.StabilizedReason, l.StabilizedMessage = "ReadyForNewScale", "recommended size matches current size"
	}
	ups, downs := h.scaleUps[key], h.scaleDowns[key]
	h.mu.Unlock()

	out, reason, msg := stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
	switch {
	case stabilized > current:
		limit := max(scaleUpLimit(current, ups, downs, up, now), current)
		maxAllowed := maxReplicas
		r, m := "TooManyReplicas", "the desired replica count is more than the maximum replica count"
		if maxAllowed > limit {
			maxAllowed = limit
			r, m = "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
		}
		if stabilized > maxAllowed {
			out, reason, msg = maxAllowed, r, m
		}
	case stabilized < current:
		limit := min(scaleDownLimit(current, ups, downs, down, now), current)
		minAllowed := minReplicas
		r, m := "TooFewReplicas", "the desired replica count is less than the minimum replica count"
		if minAllowed < limit {
			minAllowed = limit
			r, m = "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
		}
		if stabilized < minAllowed {
			out, reason, msg = minAllowed, r, m
		}
	}
	l.LimitReason, l.LimitMessage, l.Limited = reason, msg, out != stabilized
	return out, l
}

// RecordScale remembers a rescale from prev to next for the policies'
// periods (only HPAs with behavior use them).
func (h *History) RecordScale(key string, b *autoscalingv2.HorizontalPodAutoscalerBehavior, prev, next int32) {
	if b == nil || prev == next {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	events, rules, change := h.scaleDowns, withScaleDownDefaults(b.ScaleDown, h.DownscaleStabilization), prev-next
	if next > prev {
		events, rules, change = h.scaleUps, withScaleUpDefaults(b.ScaleUp), next-prev
	}
	var longest int32
	for _, p := range rules.Policies {
		longest = max(longest, p.PeriodSeconds)
	}
	now := h.Now()
	cutoff := now.Add(-time.Duration(longest) * time.Second)
	list := events[key]
	replaced := false
	for i := range list {
		if list[i].at.Before(cutoff) {
			list[i].outdated = true
		}
	}
	for i := range list {
		if list[i].outdated {
			list[i] = scaleEvent{change, now, false}
			replaced = true
			break
		}
	}
	if !replaced {
		list = append(list, scaleEvent{change, now, false})
	}
	events[key] = list
}

func changeInPeriod(period int32, events []scaleEvent, now time.Time) int32 {
	cutoff := now.Add(-time.Duration(period) * time.Second)
	var n int32
	for _, e := range events {
		if e.at.After(cutoff) {
			n += e.change
		}
	}
	return n
}

func scaleUpLimit(current int32, ups, downs []scaleEvent, rules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	sel := ptr.Deref(rules.SelectPolicy, autoscalingv2.MaxChangePolicySelect)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MinInt32), func(a, b int32) int32 { return max(a, b) }
	if sel == autoscalingv2.MinChangePolicySelect {
		result, pick = math.MaxInt32, func(a, b int32) int32 { return min(a, b) }
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(p.PeriodSeconds, ups, now) + changeInPeriod(p.PeriodSeconds, downs, now)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

func scaleDownLimit(current int32, ups, downs []scaleEvent, rules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	sel := ptr.Deref(rules.SelectPolicy, autoscalingv2.MaxChangePolicySelect)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MaxInt32), func(a, b int32) int32 { return min(a, b) }
	if sel == autoscalingv2.MinChangePolicySelect {
		result, pick = math.MinInt32, func(a, b int32) int32 { return max(a, b) }
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(p.PeriodSeconds, ups, now) + changeInPeriod(p.PeriodSeconds, downs, now)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// withScaleUpDefaults fills what the API's defaulting would: no window,
// +4 pods or +100% per 15s, the larger.
func withScaleUpDefaults(r *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	out := &autoscalingv2.HPAScalingRules{}
	if r != nil {
		out = r.DeepCopy()
	}
	if out.StabilizationWindowSeconds == nil {
		out.StabilizationWindowSeconds = ptr.To[int32](0)
	}
	if out.SelectPolicy == nil {
		out.SelectPolicy = ptr.To(autoscalingv2.MaxChangePolicySelect)
	}
	if len(out.Policies) == 0 {
		out.Policies = []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}
	}
	return out
}

// withScaleDownDefaults: the controller's downscale window, -100% per 15s.
func withScaleDownDefaults(r *autoscalingv2.HPAScalingRules, window time.Duration) *autoscalingv2.HPAScalingRules {
	out := &autoscalingv2.HPAScalingRules{}
	if r != nil {
		out = r.DeepCopy()
	}
	if out.StabilizationWindowSeconds == nil {
		out.StabilizationWindowSeconds = ptr.To(int32(window.Seconds()))
	}
	if out.SelectPolicy == nil {
		out.SelectPolicy = ptr.To(autoscalingv2.MaxChangePolicySelect)
	}
	if len(out.Policies) == 0 {
		out.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}
	}
	return out
}
