package bpf

// The generated lb_bpfel.go and lb_bpfel.o are committed so that a build
// needs no clang; hack/update-bpf.sh regenerates them and
// hack/verify-bpf.sh checks they are current.
//go:generate ../../hack/update-bpf.sh
