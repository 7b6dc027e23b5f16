package check

import "fmt"

// suggest gives `did you mean "x"?` for the name of names closest to name
// by edit distance, or "" when none is close enough to be a likely typo.
func suggest(name string, names []string) string {
	best, bestD := "", 0
	for _, n := range names {
		d := editDistance(name, n)
		if best == "" || d < bestD {
			best, bestD = n, d
		}
	}
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	if best == "" || bestD > limit || bestD >= len(name) {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// suggestOr is suggest, falling back to hint when nothing is close.
func suggestOr(name string, names []string, hint string) string {
	if s := suggest(name, names); s != "" {
		return s
	}
	return hint
}

// editDistance is the Levenshtein distance with adjacent transpositions
// counted as one edit (so "raed" is one edit from "read").
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20 // not a typo of anything in our tables
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
