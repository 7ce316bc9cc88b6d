package printers

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// now is the clock of every test table.
var now = time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// Shared parts of the workload objects.
var (
	twoContainers = corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}, {Name: "sidecar", Image: "envoy"}}}}
	webSelector   = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
)

// ago is a timestamp d before now.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// microAgo is ago as a MicroTime.
func microAgo(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(now.Add(-d)) }

// objMeta is the metadata of an object named name created d before now.
func objMeta(name string, d time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: ago(d)}
}

func testConvertor(t *testing.T, gr schema.GroupResource) *convertor {
	t.Helper()
	p, ok := kinds[gr]
	if !ok {
		t.Fatalf("no printer for %s", gr)
	}
	return &convertor{printer: p, now: func() time.Time { return now }}
}

func convert(t *testing.T, gr schema.GroupResource, obj runtime.Object) *metav1.Table {
	t.Helper()
	table, err := testConvertor(t, gr).ConvertToTable(context.Background(), obj, &metav1.TableOptions{})
	if err != nil {
		t.Fatalf("ConvertToTable(%T): %v", obj, err)
	}
	return table
}

// rowCase is one object and the cells its row must have.
type rowCase struct {
	name  string
	obj   runtime.Object
	cells []any
}

// testRows converts each case's object as a resource of gr and compares the
// row's cells.
func testRows(t *testing.T, gr schema.GroupResource, cases []rowCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table := convert(t, gr, tc.obj)
			if len(table.Rows) != 1 {
				t.Fatalf("got %d rows, want 1", len(table.Rows))
			}
			wantCells := len(table.ColumnDefinitions)
			if gr == (schema.GroupResource{Group: "networking.k8s.io", Resource: "ipaddresses"}) {
				wantCells++ // kube-apiserver's AGE cell without a column
			}
			if len(tc.cells) != wantCells {
				t.Fatalf("test case has %d cells for %d columns", len(tc.cells), wantCells)
			}
			if got := table.Rows[0].Cells; !reflect.DeepEqual(got, tc.cells) {
				t.Errorf("cells:\n got %#v\nwant %#v", got, tc.cells)
			}
			if table.Rows[0].Object.Object != tc.obj {
				t.Errorf("row object is %p, want the converted object %p", table.Rows[0].Object.Object, tc.obj)
			}
		})
	}
}

// columnNames lists a printer's columns, the wide-only (priority 1) ones
// prefixed with "+".
func columnNames(columns []metav1.TableColumnDefinition) []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.Name
		if c.Priority == 1 {
			names[i] = "+" + c.Name
		}
	}
	return names
}

func TestColumns(t *testing.T) {
	tests := []struct {
		gr      schema.GroupResource
		columns []string
	}{
		{schema.GroupResource{Resource: "namespaces"}, []string{"Name", "Status", "Age"}},
		{schema.GroupResource{Resource: "configmaps"}, []string{"Name", "Data", "Age"}},
		{schema.GroupResource{Resource: "secrets"}, []string{"Name", "Type", "Data", "Age"}},
		{schema.GroupResource{Resource: "serviceaccounts"}, []string{"Name", "Age"}},
		{schema.GroupResource{Resource: "events"}, []string{"Last Seen", "Type", "Reason", "Object", "+Subobject", "+Source", "Message", "+First Seen", "+Count", "+Name"}},
		{schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, []string{"Last Seen", "Type", "Reason", "Object", "+Subobject", "+Source", "Message", "+First Seen", "+Count", "+Name"}},
		{schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, []string{"Name", "Holder", "Age"}},
		{schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}, []string{"Name", "Role", "Age", "+Users", "+Groups", "+ServiceAccounts"}},
		{schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, []string{"Name", "Role", "Age", "+Users", "+Groups", "+ServiceAccounts"}},
		{schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}, []string{"Name", "Webhooks", "Age"}},
		{schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}, []string{"Name", "Webhooks", "Age"}},
		{schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicies"}, []string{"Name", "Validations", "ParamKind", "Age"}},
		{schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicybindings"}, []string{"Name", "PolicyName", "ParamRef", "Age"}},
		{schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicies"}, []string{"Name", "Mutations", "ParamKind", "Age"}},
		{schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicybindings"}, []string{"Name", "PolicyName", "ParamRef", "Age"}},
		{schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}, []string{"Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"}},
		{schema.GroupResource{Group: "certificates.k8s.io", Resource: "clustertrustbundles"}, []string{"Name", "SignerName"}},
		{schema.GroupResource{Group: "certificates.k8s.io", Resource: "podcertificaterequests"}, []string{"Name", "PodName", "ServiceAccountName", "NodeName", "SignerName", "State", "UnverifiedUserAnnotations"}},
		{schema.GroupResource{Group: "resource.k8s.io", Resource: "devicetaintrules"}, []string{"Name", "Key", "Value", "Effect", "TimeAdded", "Age"}},

		{schema.GroupResource{Resource: "pods"}, []string{"Name", "Ready", "Status", "Restarts", "Age", "+IP", "+Node", "+Nominated Node", "+Readiness Gates"}},
		{schema.GroupResource{Resource: "podtemplates"}, []string{"Name", "Containers", "Images", "Pod Labels"}},
		{schema.GroupResource{Resource: "services"}, []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "+Selector"}},
		{schema.GroupResource{Resource: "endpoints"}, []string{"Name", "Endpoints", "Age"}},
		{schema.GroupResource{Resource: "nodes"}, []string{"Name", "Status", "Roles", "Age", "Version", "+Internal-IP", "+External-IP", "+OS-Image", "+Kernel-Version", "+Container-Runtime"}},
		{schema.GroupResource{Resource: "persistentvolumes"}, []string{"Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass", "VolumeAttributesClass", "Reason", "Age", "+VolumeMode"}},
		{schema.GroupResource{Resource: "persistentvolumeclaims"}, []string{"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age", "+VolumeMode"}},
		{schema.GroupResource{Resource: "replicationcontrollers"}, []string{"Name", "Desired", "Current", "Ready", "Age", "+Containers", "+Images", "+Selector"}},
		{schema.GroupResource{Resource: "resourcequotas"}, []string{"Name", "Request", "Limit", "Age"}},
		{schema.GroupResource{Resource: "componentstatuses"}, []string{"Name", "Status", "Message", "Error"}},
		{schema.GroupResource{Group: "apps", Resource: "deployments"}, []string{"Name", "Ready", "Up-to-date", "Available", "Age", "+Containers", "+Images", "+Selector"}},
		{schema.GroupResource{Group: "apps", Resource: "replicasets"}, []string{"Name", "Desired", "Current", "Ready", "Age", "+Containers", "+Images", "+Selector"}},
		{schema.GroupResource{Group: "apps", Resource: "statefulsets"}, []string{"Name", "Ready", "Age", "+Containers", "+Images"}},
		{schema.GroupResource{Group: "apps", Resource: "daemonsets"}, []string{"Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "+Containers", "+Images", "+Selector"}},
		{schema.GroupResource{Group: "apps", Resource: "controllerrevisions"}, []string{"Name", "Controller", "Revision", "Age"}},
		{schema.GroupResource{Group: "batch", Resource: "jobs"}, []string{"Name", "Status", "Completions", "Duration", "Age", "+Containers", "+Images", "+Selector"}},
		{schema.GroupResource{Group: "batch", Resource: "cronjobs"}, []string{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "+Containers", "+Images", "+Selector"}},
		{schema.GroupResource{Group: "autoscaling", Resource: "horizontalpodautoscalers"}, []string{"Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"}},
		{schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}, []string{"Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"}},
		{schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, []string{"Name", "AddressType", "Ports", "Endpoints", "Age"}},
		{schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, []string{"Name", "Class", "Hosts", "Address", "Ports", "Age"}},
		{schema.GroupResource{Group: "networking.k8s.io", Resource: "ingressclasses"}, []string{"Name", "Controller", "Parameters", "Age"}},
		{schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}, []string{"Name", "Pod-Selector", "Age"}},
		{schema.GroupResource{Group: "networking.k8s.io", Resource: "servicecidrs"}, []string{"Name", "CIDRs", "Age"}},
		{schema.GroupResource{Group: "networking.k8s.io", Resource: "ipaddresses"}, []string{"Name", "ParentRef"}},
		{schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, []string{"Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"}},
		{schema.GroupResource{Group: "storage.k8s.io", Resource: "csidrivers"}, []string{"Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity", "TokenRequests", "RequiresRepublish", "Modes", "Age"}},
		{schema.GroupResource{Group: "storage.k8s.io", Resource: "csinodes"}, []string{"Name", "Drivers", "Age"}},
		{schema.GroupResource{Group: "storage.k8s.io", Resource: "volumeattachments"}, []string{"Name", "Attacher", "PV", "Node", "Attached", "Age"}},
		{schema.GroupResource{Group: "storage.k8s.io", Resource: "volumeattributesclasses"}, []string{"Name", "DriverName", "Age"}},
		{schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}, []string{"Name", "Value", "Global-Default", "Age", "PreemptionPolicy"}},
		{schema.GroupResource{Group: "node.k8s.io", Resource: "runtimeclasses"}, []string{"Name", "Handler", "Age"}},
		{schema.GroupResource{Group: "flowcontrol.apiserver.k8s.io", Resource: "flowschemas"}, []string{"Name", "PriorityLevel", "MatchingPrecedence", "DistinguisherMethod", "Age", "MissingPL"}},
		{schema.GroupResource{Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"}, []string{"Name", "Type", "NominalConcurrencyShares", "Queues", "HandSize", "QueueLengthLimit", "Age"}},
	}
	for _, tt := range tests {
		t.Run(tt.gr.String(), func(t *testing.T) {
			p, ok := kinds[tt.gr]
			if !ok {
				t.Fatalf("no printer for %s", tt.gr)
			}
			if got := columnNames(p.columns); !reflect.DeepEqual(got, tt.columns) {
				t.Errorf("columns:\n got %q\nwant %q", got, tt.columns)
			}
			for _, c := range p.columns {
				switch c.Type {
				case "string", "integer", "boolean":
				default:
					t.Errorf("column %q has type %q", c.Name, c.Type)
				}
				if c.Name == "Name" && c.Format != "name" {
					t.Errorf("column %q has format %q, want name", c.Name, c.Format)
				}
			}
		})
	}
}

// TestCoverage checks that every built-in resource of Skiff has a convertor
// and that the ones kube-apiserver prints by default keep NAME, CREATED AT.
func TestCoverage(t *testing.T) {
	printed := map[string][]string{
		"":                             {"namespaces", "configmaps", "secrets", "serviceaccounts", "events"},
		"events.k8s.io":                {"events"},
		"coordination.k8s.io":          {"leases"},
		"rbac.authorization.k8s.io":    {"rolebindings", "clusterrolebindings"},
		"admissionregistration.k8s.io": {"validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"},
		"certificates.k8s.io":          {"certificatesigningrequests", "clustertrustbundles", "podcertificaterequests"},

		"apps":                         {"deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions"},
		"batch":                        {"jobs", "cronjobs"},
		"autoscaling":                  {"horizontalpodautoscalers"},
		"policy":                       {"poddisruptionbudgets"},
		"discovery.k8s.io":             {"endpointslices"},
		"networking.k8s.io":            {"ingresses", "ingressclasses", "networkpolicies", "servicecidrs", "ipaddresses"},
		"storage.k8s.io":               {"storageclasses", "csidrivers", "csinodes", "volumeattachments", "volumeattributesclasses"},
		"scheduling.k8s.io":            {"priorityclasses"},
		"node.k8s.io":                  {"runtimeclasses"},
		"flowcontrol.apiserver.k8s.io": {"flowschemas", "prioritylevelconfigurations"},
		"resource.k8s.io":              {"deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices", "devicetaintrules"},
	}
	printed[""] = append(printed[""], "pods", "services", "endpoints", "nodes", "persistentvolumes", "persistentvolumeclaims",
		"podtemplates", "replicationcontrollers", "resourcequotas", "componentstatuses")
	byDefault := map[string][]string{
		"rbac.authorization.k8s.io": {"roles", "clusterroles"},
		"":                          {"limitranges"},
		"storage.k8s.io":            {"csistoragecapacities"},
	}
	for group, resources := range printed {
		for _, r := range resources {
			gr := schema.GroupResource{Group: group, Resource: r}
			t.Run(gr.String(), func(t *testing.T) {
				if _, ok := TableConvertor(gr).(*convertor); !ok {
					t.Errorf("TableConvertor(%s) = %T, want Skiff's columns", gr, TableConvertor(gr))
				}
			})
		}
	}
	for group, resources := range byDefault {
		for _, r := range resources {
			gr := schema.GroupResource{Group: group, Resource: r}
			t.Run(gr.String(), func(t *testing.T) {
				c := TableConvertor(gr)
				if c == nil {
					t.Fatalf("TableConvertor(%s) = nil", gr)
				}
				table, err := c.ConvertToTable(context.Background(), &corev1.ConfigMap{ObjectMeta: objMeta("x", time.Hour)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := columnNames(table.ColumnDefinitions); !reflect.DeepEqual(got, []string{"Name", "Created At"}) {
					t.Errorf("columns %q, want the default NAME, CREATED AT", got)
				}
			})
		}
	}
	if c := TableConvertor(schema.GroupResource{Group: "example.com", Resource: "widgets"}); c != nil {
		t.Errorf("TableConvertor of an unknown resource = %T, want nil", c)
	}
}

func TestList(t *testing.T) {
	list := &corev1.ConfigMapList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next", RemainingItemCount: ptr.To[int64](7)},
		Items: []corev1.ConfigMap{
			{ObjectMeta: objMeta("a", time.Hour), Data: map[string]string{"k": "v"}},
			{ObjectMeta: objMeta("b", 2*time.Hour), BinaryData: map[string][]byte{"k": nil, "l": nil}},
		},
	}
	tests := []struct {
		name        string
		options     runtime.Object
		wantColumns int
	}{
		{name: "headers", options: &metav1.TableOptions{}, wantColumns: 3},
		{name: "no options", options: nil, wantColumns: 3},
		{name: "no headers", options: &metav1.TableOptions{NoHeaders: true}, wantColumns: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := testConvertor(t, schema.GroupResource{Resource: "configmaps"}).ConvertToTable(context.Background(), list, tt.options)
			if err != nil {
				t.Fatal(err)
			}
			if len(table.ColumnDefinitions) != tt.wantColumns {
				t.Errorf("got %d column definitions, want %d", len(table.ColumnDefinitions), tt.wantColumns)
			}
			wantMeta := metav1.ListMeta{ResourceVersion: "42", Continue: "next", RemainingItemCount: ptr.To[int64](7)}
			if !reflect.DeepEqual(table.ListMeta, wantMeta) {
				t.Errorf("list meta %+v, want %+v", table.ListMeta, wantMeta)
			}
			want := [][]any{{"a", int64(1), "60m"}, {"b", int64(2), "120m"}}
			if len(table.Rows) != len(want) {
				t.Fatalf("got %d rows, want %d", len(table.Rows), len(want))
			}
			for i, row := range table.Rows {
				if !reflect.DeepEqual(row.Cells, want[i]) {
					t.Errorf("row %d: cells %#v, want %#v", i, row.Cells, want[i])
				}
				if row.Object.Object != &list.Items[i] {
					t.Errorf("row %d: object is not the list item", i)
				}
			}
		})
	}
}

func TestSingleObjectMeta(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: objMeta("a", time.Hour)}
	cm.ResourceVersion = "17"
	table := convert(t, schema.GroupResource{Resource: "configmaps"}, cm)
	if table.ResourceVersion != "17" || table.Continue != "" || table.RemainingItemCount != nil {
		t.Errorf("list meta %+v, want resourceVersion 17 only", table.ListMeta)
	}
}

func TestEmptyList(t *testing.T) {
	table := convert(t, schema.GroupResource{Resource: "configmaps"}, &corev1.ConfigMapList{})
	if table.Rows == nil || len(table.Rows) != 0 {
		t.Errorf("rows %#v, want an empty, non-nil slice (JSON [])", table.Rows)
	}
}

func TestErrors(t *testing.T) {
	c := testConvertor(t, schema.GroupResource{Resource: "configmaps"})
	tests := []struct {
		name    string
		obj     runtime.Object
		options runtime.Object
		want    string
	}{
		{name: "other type", obj: &corev1.Secret{}, options: nil, want: "no table row function for type *v1.Secret"},
		{name: "other type in list", obj: &corev1.SecretList{Items: []corev1.Secret{{}}}, options: nil, want: "print *v1.SecretList item: no table row function for type *v1.Secret"},
		{name: "bad options", obj: &corev1.ConfigMap{}, options: &metav1.ListOptions{}, want: "unrecognized type *v1.ListOptions for table options, can't display tabular output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ConvertToTable(context.Background(), tt.obj, tt.options)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	status := &metav1.Status{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Status: metav1.StatusSuccess, Reason: metav1.StatusReasonNotFound, Message: "gone"}
	table := convert(t, schema.GroupResource{Resource: "pods"}, status)
	if got := columnNames(table.ColumnDefinitions); !reflect.DeepEqual(got, []string{"Status", "Reason", "Message"}) {
		t.Errorf("columns %q, want Status, Reason, Message", got)
	}
	if len(table.Rows) != 1 || !reflect.DeepEqual(table.Rows[0].Cells, []any{"Success", "NotFound", "gone"}) {
		t.Errorf("rows %#v, want one row Success, NotFound, gone", table.Rows)
	}
	if table.ResourceVersion != "9" {
		t.Errorf("resourceVersion %q, want 9", table.ResourceVersion)
	}
}
