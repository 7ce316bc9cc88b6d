package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/cluster/daemon"
	"github.com/skiff-dev/skiff/internal/cgroups"
)

// Status writes the cluster's components (running or not, from their pid
// files) and, if the API answers, its nodes as the API sees them.
func (c *Cluster) Status(ctx context.Context, w io.Writer) error {
	mounts, err := cgroups.Mounts()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Cluster %q (%s), API %s\n\n", c.cfg.Name, c.dir, c.serverURL())
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tIP\tCOMPONENT\tSTATE")
	for _, n := range c.nodes {
		var ips []string
		for _, ip := range n.ips {
			ips = append(ips, ip.String())
		}
		for _, comp := range c.components(n) {
			state := "stopped"
			if s, err := c.spec(mounts, n, comp); err == nil {
				if pid, ok := daemon.Running(s); ok {
					state = fmt.Sprintf("running (pid %d)", pid)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.name(), n.spec.Role, strings.Join(ips, ","), comp, state)
		}
	}
	if c.ha() {
		s := c.balancerSpec(mounts)
		state := "stopped"
		if pid, ok := daemon.Running(s); ok {
			state = fmt.Sprintf("running (pid %d)", pid)
		}
		fmt.Fprintf(tw, "(host)\t\t%s\t%s\t%s\n", c.apiAddress(), balancerName, state)
	}
	tw.Flush()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		return nil
	}
	cfg.Timeout = 3 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(w, "\nAPI not reachable: %v\n", err)
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tPOD CIDR\tVERSION")
	for _, n := range nodes.Items {
		status := "NotReady"
		if nodeReady(&n) {
			status = "Ready"
		}
		if n.Spec.Unschedulable {
			status += ",SchedulingDisabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Name, status, n.Spec.PodCIDR, n.Status.NodeInfo.KubeletVersion)
	}
	return tw.Flush()
}
