package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Cell texts kube-apiserver uses for missing values.
const (
	none    = "<none>"
	unknown = "<unknown>"
	unset   = "<unset>"
)

var objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

// The columns most kinds share.
var (
	nameColumn = metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
	ageColumn  = metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
	// containersColumn and imagesColumn are the wide columns of workloads.
	containersColumn = metav1.TableColumnDefinition{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."}
	imagesColumn     = metav1.TableColumnDefinition{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."}
)

// cells is the row of the given cells, in column order.
func cells(values ...any) (metav1.TableRow, error) {
	return metav1.TableRow{Cells: values}, nil
}

// since is the human age of ts at now, "<unknown>" for a zero time.
func since(ts metav1.Time, now time.Time) string {
	if ts.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

// microSince is since for a MicroTime.
func microSince(ts metav1.MicroTime, now time.Time) string {
	if ts.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

// orNone is s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// containerCells are the CONTAINERS and IMAGES cells: names and images
// joined with commas.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	i := make([]string, len(containers))
	for k, c := range containers {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// firstOf joins the first max entries of list with commas and says how many
// more there were ("a,b,c + 2 more..."), or "<unset>" when list is empty.
func firstOf(list []string, max int) string {
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ","), len(list)-max)
	}
	if len(list) == 0 {
		return unset
	}
	return strings.Join(list, ",")
}

// boolPtr prints an optional flag as "True", "False" or "<unset>".
func boolPtr(b *bool) string {
	switch {
	case b == nil:
		return unset
	case *b:
		return "True"
	default:
		return "False"
	}
}
