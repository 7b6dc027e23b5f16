package bpfboxc

import (
	"fmt"
	"strings"
)

// unifiedDiff returns a unified diff (3 lines of context) turning a into b,
// with the headers gofmt -d uses; "" when they are equal.
func unifiedDiff(nameA, nameB string, a, b []byte) string {
	la, lb := splitLines(string(a)), splitLines(string(b))
	ops := diffLines(la, lb)
	var out strings.Builder
	const context = 3
	for i := 0; i < len(ops); {
		// Find the next change.
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		if out.Len() == 0 {
			fmt.Fprintf(&out, "diff %s %s\n--- %s\n+++ %s\n", nameA, nameB, nameA, nameB)
		}
		start := max(0, i-context)
		// Extend the hunk while changes are closer than 2*context lines.
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(end+context, run)
				break
			}
			end = run
		}
		hunk := ops[start:end]
		aStart, bStart := hunk[0].a, hunk[0].b
		aLen, bLen := 0, 0
		for _, op := range hunk {
			if op.kind != '+' {
				aLen++
			}
			if op.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, op := range hunk {
			line := op.text
			out.WriteByte(op.kind)
			out.WriteString(line)
			if !strings.HasSuffix(line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return out.String()
}

// hunkRange formats a hunk's line range: start is 0-based here, 1-based in
// the output, and an empty range names the line before it.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// splitLines splits s after each '\n'; a last line without one is kept.
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// diffOp is one line of an edit script: ' ' kept, '-' deleted from a, '+'
// inserted from b. a and b are the 0-based line numbers in a and b at
// which the op stands.
type diffOp struct {
	kind byte
	text string
	a, b int
}

// maxEditDistance bounds the Myers search (memory grows with its square);
// beyond it the changed middle is shown as one replacement, still a correct
// diff, only not a minimal one.
const maxEditDistance = 2000

// diffLines computes an edit script from a to b: the common prefix and
// suffix, and Myers' O(ND) shortest edit script for the middle.
func diffLines(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []diffOp
	for i := 0; i < pre; i++ {
		ops = append(ops, diffOp{' ', a[i], i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	ops = append(ops, myers(ma, mb, pre)...)
	for i := 0; i < suf; i++ {
		ia, ib := len(a)-suf+i, len(b)-suf+i
		ops = append(ops, diffOp{' ', a[ia], ia, ib})
	}
	return ops
}

// myers returns the shortest edit script from a to b; off is added to the
// line numbers.
func myers(a, b []string, off int) []diffOp {
	n, m := len(a), len(b)
	maxD := n + m
	replace := func() []diffOp {
		ops := make([]diffOp, 0, n+m)
		for i := range a {
			ops = append(ops, diffOp{'-', a[i], off + i, off})
		}
		for j := range b {
			ops = append(ops, diffOp{'+', b[j], off + n, off + j})
		}
		return ops
	}
	if maxD == 0 {
		return nil
	}
	if maxD > 2*maxEditDistance && min(n, m) > maxEditDistance {
		return replace()
	}
	// v[k+maxD] is the furthest x on diagonal k; trace keeps v per step.
	v := make([]int, 2*maxD+2)
	var trace [][]int
	found := false
	for d := 0; d <= maxD && d <= maxEditDistance; d++ {
		snapshot := make([]int, len(v))
		copy(snapshot, v)
		trace = append(trace, snapshot)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[k-1+maxD] < v[k+1+maxD] {
				x = v[k+1+maxD] // down: insertion
			} else {
				x = v[k-1+maxD] + 1 // right: deletion
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[k+maxD] = x
			if x >= n && y >= m {
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return replace()
	}
	// Walk back through the trace.
	var rev []diffOp
	x, y := n, m
	for d := len(trace) - 1; d > 0; d-- {
		vd := trace[d]
		k := x - y
		var prevK int
		if k == -d || k != d && vd[k-1+maxD] < vd[k+1+maxD] {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := vd[prevK+maxD]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			rev = append(rev, diffOp{' ', a[x], off + x, off + y})
		}
		if x == prevX {
			y--
			rev = append(rev, diffOp{'+', b[y], off + x, off + y})
		} else {
			x--
			rev = append(rev, diffOp{'-', a[x], off + x, off + y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, diffOp{' ', a[x], off + x, off + y})
	}
	ops := make([]diffOp, len(rev))
	for i, op := range rev {
		ops[len(rev)-1-i] = op
	}
	return ops
}
