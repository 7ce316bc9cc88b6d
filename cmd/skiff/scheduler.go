package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/skiff-dev/skiff/controllers/scheduler"
	"github.com/skiff-dev/skiff/internal/controlplane"
)

// schedulerFlags are `skiff scheduler`'s flags, shared with `skiff server`.
type schedulerFlags struct {
	cfg        scheduler.Config
	kubeconfig string
	master     string
	disabled   bool
}

func (f *schedulerFlags) addFlags(fss *cliflag.NamedFlagSets, standalone bool) {
	if standalone {
		fs := fss.FlagSet("client")
		fs.StringVar(&f.kubeconfig, "kubeconfig", "", "Path to a kubeconfig file with the API server and credentials (empty: in-cluster config).")
		fs.StringVar(&f.master, "master", "", "The address of the API server (overrides any value in the kubeconfig).")
	}
	fs := fss.FlagSet("scheduler")
	if !standalone {
		fs.BoolVar(&f.disabled, "disable-scheduler", false, "Run no scheduler in this process (another one schedules the pods).")
	}
	fs.StringVar(&f.cfg.SchedulerName, "scheduler-name", "default-scheduler", "The spec.schedulerName of the pods this scheduler schedules; pods naming another are left alone.")
	fs.Int32Var(&f.cfg.PercentageOfNodesToScore, "percentage-of-nodes-to-score", 0, "Percentage of feasible nodes a scheduling cycle looks for before scoring (0: upstream's adaptive default).")
	fs.BoolVar(&f.cfg.DisablePreemption, "disable-preemption", false, "Never preempt lower-priority pods to make room.")
	fs.Float32Var(&f.cfg.ClientQPS, "kube-api-qps", 0, "Queries per second to the API server (0: 5000).")
	fs.IntVar(&f.cfg.ClientBurst, "kube-api-burst", 0, "Burst of queries to the API server (0: 10000).")
	// Alone, the scheduler takes kube-scheduler's --leader-elect* names;
	// beside the controller manager in `skiff server` they are prefixed.
	prefix := ""
	if !standalone {
		prefix = "scheduler-"
	}
	fs = fss.FlagSet("scheduler leader election")
	fs.BoolVar(&f.cfg.LeaderElect, prefix+"leader-elect", true, "Schedule only while holding the scheduler's leader Lease, so that replicas can stand by.")
	fs.StringVar(&f.cfg.LeaderElectionNamespace, prefix+"leader-elect-resource-namespace", "kube-system", "The namespace of the scheduler's leader Lease.")
	fs.StringVar(&f.cfg.LeaderElectionID, prefix+"leader-elect-resource-name", "skiff-scheduler", "The name of the scheduler's leader Lease.")
}

// run runs the scheduler on cfg until ctx ends.
func (f *schedulerFlags) run(ctx context.Context, restCfg *rest.Config) error {
	c := f.cfg
	c.RESTConfig = restCfg
	s, err := scheduler.New(c)
	if err != nil {
		return err
	}
	return s.Start(ctx)
}

// component is the scheduler as a part of `skiff server`.
func (f *schedulerFlags) component() (controlplane.Component, bool) {
	if f.disabled {
		return controlplane.Component{}, false
	}
	return controlplane.Component{Name: "scheduler", Kubeconfig: "scheduler", Run: f.run}, true
}

// newSchedulerCommand is `skiff scheduler`: binds pods to nodes.
func newSchedulerCommand() *cobra.Command {
	var f schedulerFlags
	return newComponentCommand("scheduler", "Run Skiff's scheduler (filters, scores, preemption; binds pods through pods/binding)",
		func(fss *cliflag.NamedFlagSets) { f.addFlags(fss, true) },
		func() error {
			restCfg, err := clientcmd.BuildConfigFromFlags(f.master, f.kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig/--master: %w", err)
			}
			return f.run(genericapiserver.SetupSignalContext(), restCfg)
		})
}
