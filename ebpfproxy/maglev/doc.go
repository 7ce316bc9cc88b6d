// Package maglev builds Maglev lookup tables (Eisenbud et al., NSDI 2016):
// a table of M slots, M prime, each naming a backend, filled so that every
// backend owns about M/N slots and a change of one backend moves only about
// 1/N of them. It is pure Go and knows nothing of BPF maps or Services.
package maglev
