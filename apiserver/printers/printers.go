package printers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// TableConvertor returns the Table convertor for a built-in resource, or nil
// if Skiff has no columns for it (the caller then uses
// rest.NewDefaultTableConvertor). Resources that kube-apiserver itself prints
// with the default NAME and CREATED AT columns get that default convertor.
func TableConvertor(gr schema.GroupResource) rest.TableConvertor {
	if defaultColumns[gr] {
		return rest.NewDefaultTableConvertor(gr)
	}
	p, ok := kinds[gr]
	if !ok {
		return nil
	}
	return &convertor{printer: p, now: time.Now}
}

// rowFunc prints obj as one row (without its Object) if obj is of the type
// the function handles; handled is false otherwise.
type rowFunc func(obj runtime.Object, now time.Time) (row metav1.TableRow, handled bool, err error)

// rowsOf adapts a typed row function. now is the time AGE-like cells are
// measured against.
func rowsOf[T runtime.Object](print func(obj T, now time.Time) (metav1.TableRow, error)) rowFunc {
	return func(obj runtime.Object, now time.Time) (metav1.TableRow, bool, error) {
		typed, ok := obj.(T)
		if !ok {
			return metav1.TableRow{}, false, nil
		}
		row, err := print(typed, now)
		return row, true, err
	}
}

// printer is a kind's column set and the row functions of the Go types that
// may be stored for it.
type printer struct {
	columns []metav1.TableColumnDefinition
	rows    []rowFunc
}

// newPrinter is the printer of the given columns, trying each row function
// in turn.
func newPrinter(columns []metav1.TableColumnDefinition, rows ...rowFunc) printer {
	return printer{columns: columns, rows: rows}
}

func (p printer) row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	for _, f := range p.rows {
		row, handled, err := f(obj, now)
		if !handled {
			continue
		}
		if err != nil {
			return metav1.TableRow{}, err
		}
		row.Object = runtime.RawExtension{Object: obj}
		return row, nil
	}
	return metav1.TableRow{}, fmt.Errorf("no table row function for type %T", obj)
}

// statusPrinter prints the metav1.Status a request may return instead of
// an object, whatever the resource.
var statusPrinter = newPrinter([]metav1.TableColumnDefinition{
	{Name: "Status", Type: "string", Description: metav1.Status{}.SwaggerDoc()["status"]},
	{Name: "Reason", Type: "string", Description: metav1.Status{}.SwaggerDoc()["reason"]},
	// kube-apiserver looks up "Message", which has no description.
	{Name: "Message", Type: "string", Description: metav1.Status{}.SwaggerDoc()["Message"]},
}, rowsOf(func(s *metav1.Status, _ time.Time) (metav1.TableRow, error) {
	return cells(s.Status, string(s.Reason), s.Message)
}))

// convertor is the rest.TableConvertor of one printer. As kube-apiserver
// does, it always prints every column (kubectl hides the priority ones unless
// asked for -o wide).
type convertor struct {
	printer
	now func() time.Time
}

var _ rest.TableConvertor = &convertor{}

// ConvertToTable implements rest.TableConvertor for a single object or a list.
func (c *convertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	noHeaders := false
	switch opts := tableOptions.(type) {
	case nil:
	case *metav1.TableOptions:
		if opts != nil {
			noHeaders = opts.NoHeaders
		}
	default:
		return nil, fmt.Errorf("unrecognized type %T for table options, can't display tabular output", tableOptions)
	}

	p := c.printer
	if _, ok := obj.(*metav1.Status); ok {
		p = statusPrinter
	}
	now := c.now()
	table := &metav1.Table{}
	if meta.IsListType(obj) {
		items, err := meta.ExtractList(obj)
		if err != nil {
			return nil, fmt.Errorf("extract items of %T: %w", obj, err)
		}
		table.Rows = make([]metav1.TableRow, 0, len(items))
		for _, item := range items {
			row, err := p.row(item, now)
			if err != nil {
				return nil, fmt.Errorf("print %T item: %w", obj, err)
			}
			table.Rows = append(table.Rows, row)
		}
	} else {
		row, err := p.row(obj, now)
		if err != nil {
			return nil, err
		}
		table.Rows = []metav1.TableRow{row}
	}
	if list, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = list.GetResourceVersion()
		table.Continue = list.GetContinue()
		table.RemainingItemCount = list.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	if !noHeaders {
		table.ColumnDefinitions = p.columns
	}
	return table, nil
}
