// Package mapspec turns `burst map` arguments into tasks: GNU parallel's ::: and :::: input groups, their cartesian product, and replacement strings such as {} {.} {/} {//} {#} {n}.
// It does no I/O of its own: file contents arrive through the caller's readFile, and nothing here touches the network or the store.
package mapspec
