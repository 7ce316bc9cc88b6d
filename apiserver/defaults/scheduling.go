package defaults

import (
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// addSchedulingDefaults registers upstream's defaults for scheduling.k8s.io/v1:
// a PriorityClass without a preemption policy preempts lower priorities.
func addSchedulingDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&schedulingv1.PriorityClass{}, func(o interface{}) {
		defaultPriorityClass(o.(*schedulingv1.PriorityClass))
	})
	s.AddTypeDefaultingFunc(&schedulingv1.PriorityClassList{}, func(o interface{}) {
		l := o.(*schedulingv1.PriorityClassList)
		for i := range l.Items {
			defaultPriorityClass(&l.Items[i])
		}
	})
}

func defaultPriorityClass(pc *schedulingv1.PriorityClass) {
	if pc.PreemptionPolicy == nil {
		policy := corev1.PreemptLowerPriority
		pc.PreemptionPolicy = &policy
	}
}
