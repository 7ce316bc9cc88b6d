// Package policy validates policy/v1 PodDisruptionBudgets on the external
// type, with upstream kube-apiserver's field paths, error types and
// messages. As upstream, the validators check the spec and status only: the
// metadata gets the generic registry's checks (rest.BeforeCreate and
// BeforeUpdate), not core's object metadata rules.
package policy
