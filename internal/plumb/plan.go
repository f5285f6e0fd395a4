// Package plumb decides how the processes of a placed pipe connect, as pure
// logic: which streams are OS pipes on one machine and which are TCP
// streams between agents, and where the line junctions of --parallel
// stages run. The server calls Plan when a pipe's stages are placed; agents
// carry the plan out (internal/agent/stream.go).
//
// Between a stage of U copies and the next of D copies:
//   - U = D = 1: one stream, from the producer's stdout straight into the
//     consumer's stdin; an OS pipe when both run on one machine (nothing
//     passes through burst), else a TCP connection from the producer's
//     agent to the consumer's, paired by a key of its own, handed to the
//     processes as their stdout and stdin when both agents share a host
//     (again nothing passes through burst), relayed through TLS by the
//     agents between hosts;
//   - otherwise a junction deals whole lines from the U producers to the D
//     consumers. It runs on the machine of the single side when there is
//     one (the producer of a split), else on the first consumer's, and
//     each copy is joined to it by its own stream.
//
// The pipe's input file (<) and output file (>) are read and written by the
// first and last stage's processes themselves, or by a junction when that
// stage runs in copies. Without >, the last stage writes to its own stdout
// log, which `burst pipe` follows.
package plumb

import (
	"fmt"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
)

// Plan returns the plumbing of each task of pipe p of job (attempt gen),
// whose task i was placed on machine at[i]; addr maps a machine to its
// agent's stream address. Each stream between machines gets its own key
// from newKey (the server's: 32 random bytes, hex), which only its two
// ends carry: an agent's stream port accepts only a peer proving it.
func Plan(p *burst.PipeSpec, job int64, gen int, at []string, addr map[string]string, newKey func() string) []*client.Plumbing {
	out := make([]*client.Plumbing, len(at))
	for i := range out {
		st, _ := p.StageOf(i)
		out[i] = &client.Plumbing{Stage: p.Stages[st].Name}
	}
	tasks := func(stage int) []int {
		first := p.FirstTask(stage)
		ids := make([]int, p.Stages[stage].Copies())
		for k := range ids {
			ids[k] = first + k
		}
		return ids
	}
	// connect makes a stream from the producer on machine from to the
	// consumer on machine to, and returns its two ends.
	connect := func(key, from, to string) (prod, cons client.End) {
		key = fmt.Sprintf("%d.%d.%s", job, gen, key)
		if from == to {
			return client.End{Stream: key}, client.End{Stream: key}
		}
		secret := newKey()
		return client.End{Stream: key, Dial: addr[to], Key: secret}, client.End{Stream: key, Accept: true, Key: secret}
	}
	last := len(p.Stages) - 1
	for b := 0; b <= len(p.Stages); b++ {
		switch {
		case b == 0: // the input file
			down := tasks(0)
			if p.Stdin == "" {
				continue // each copy reads /dev/null
			}
			file := client.End{File: p.Stdin}
			if len(down) == 1 {
				out[down[0]].Stdin = file
				continue
			}
			j := client.Junction{In: []client.End{file}}
			host := down[0]
			for k, d := range down {
				prod, cons := connect(fmt.Sprintf("in.%d", k), at[host], at[d])
				j.Out = append(j.Out, prod)
				out[d].Stdin = cons
			}
			out[host].Junctions = append(out[host].Junctions, j)
		case b == len(p.Stages): // the output file, or the log
			up := tasks(last)
			sink := client.End{Log: true}
			if p.Stdout != "" {
				sink = client.End{File: p.Stdout, Append: p.Append}
			}
			if len(up) == 1 {
				if p.Stdout != "" {
					out[up[0]].Stdout = sink
				}
				continue
			}
			j := client.Junction{Out: []client.End{sink}}
			host := up[0]
			for k, u := range up {
				prod, cons := connect(fmt.Sprintf("out.%d", k), at[u], at[host])
				out[u].Stdout = prod
				j.In = append(j.In, cons)
			}
			out[host].Junctions = append(out[host].Junctions, j)
		default:
			up, down := tasks(b-1), tasks(b)
			if len(up) == 1 && len(down) == 1 {
				out[up[0]].Stdout, out[down[0]].Stdin = connect(fmt.Sprintf("%d", b), at[up[0]], at[down[0]])
				continue
			}
			host := down[0]
			if len(up) == 1 {
				host = up[0]
			}
			var j client.Junction
			for k, u := range up {
				prod, cons := connect(fmt.Sprintf("%d.in.%d", b, k), at[u], at[host])
				out[u].Stdout = prod
				j.In = append(j.In, cons)
			}
			for k, d := range down {
				prod, cons := connect(fmt.Sprintf("%d.out.%d", b, k), at[host], at[d])
				j.Out = append(j.Out, prod)
				out[d].Stdin = cons
			}
			out[host].Junctions = append(out[host].Junctions, j)
		}
	}
	return out
}
