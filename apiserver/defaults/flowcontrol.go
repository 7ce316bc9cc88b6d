package defaults

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Upstream's flowcontrol.apiserver.k8s.io/v1 default values.
const (
	defaultMatchingPrecedence       int32 = 1000
	defaultHandSize                 int32 = 8
	defaultQueues                   int32 = 64
	defaultQueueLengthLimit         int32 = 50
	defaultNominalConcurrencyShares int32 = 30
)

// addFlowcontrolDefaults registers upstream's defaults for
// flowcontrol.apiserver.k8s.io/v1: a FlowSchema's matching precedence, and a
// PriorityLevelConfiguration's concurrency shares, lendable percent and
// queuing parameters.
func addFlowcontrolDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&flowcontrolv1.FlowSchema{}, func(o interface{}) {
		defaultFlowSchemaSpec(&o.(*flowcontrolv1.FlowSchema).Spec)
	})
	s.AddTypeDefaultingFunc(&flowcontrolv1.FlowSchemaList{}, func(o interface{}) {
		l := o.(*flowcontrolv1.FlowSchemaList)
		for i := range l.Items {
			defaultFlowSchemaSpec(&l.Items[i].Spec)
		}
	})
	s.AddTypeDefaultingFunc(&flowcontrolv1.PriorityLevelConfiguration{}, func(o interface{}) {
		defaultPriorityLevelSpec(&o.(*flowcontrolv1.PriorityLevelConfiguration).Spec)
	})
	s.AddTypeDefaultingFunc(&flowcontrolv1.PriorityLevelConfigurationList{}, func(o interface{}) {
		l := o.(*flowcontrolv1.PriorityLevelConfigurationList)
		for i := range l.Items {
			defaultPriorityLevelSpec(&l.Items[i].Spec)
		}
	})
}

func defaultFlowSchemaSpec(spec *flowcontrolv1.FlowSchemaSpec) {
	if spec.MatchingPrecedence == 0 {
		spec.MatchingPrecedence = defaultMatchingPrecedence
	}
}

func defaultPriorityLevelSpec(spec *flowcontrolv1.PriorityLevelConfigurationSpec) {
	zero := func(p **int32) {
		if *p == nil {
			*p = new(int32)
		}
	}
	if e := spec.Exempt; e != nil {
		zero(&e.NominalConcurrencyShares)
		zero(&e.LendablePercent)
	}
	l := spec.Limited
	if l == nil {
		return
	}
	if l.NominalConcurrencyShares == nil {
		shares := defaultNominalConcurrencyShares
		l.NominalConcurrencyShares = &shares
	}
	zero(&l.LendablePercent)
	if q := l.LimitResponse.Queuing; q != nil {
		if q.HandSize == 0 {
			q.HandSize = defaultHandSize
		}
		if q.Queues == 0 {
			q.Queues = defaultQueues
		}
		if q.QueueLengthLimit == 0 {
			q.QueueLengthLimit = defaultQueueLengthLimit
		}
	}
}
