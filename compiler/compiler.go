// Package compiler turns a checked policy into a bundle, as a named list of
// stages, each a package with one job:
//
//	lower   compiler/ir      policy → IR (positions, scope table, targets)
//	tables  compiler/tables  IR → DFAs (compiler/dfa) and permission entries
//	encode  compiler/bundle  tables → bytes (format v1, deterministic)
//	verify  compiler/bundle  decode the bytes again with the runtime's limits
//
// Verify means bpfboxc never writes a bundle that bpfbox-run would refuse.
package compiler

import (
	"fmt"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/dfa"
	"github.com/bpfbox/bpfbox/compiler/ir"
	"github.com/bpfbox/bpfbox/compiler/tables"
	"github.com/bpfbox/bpfbox/internal/version"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// Result is everything a compilation produced.
type Result struct {
	IR     *ir.Bundle
	Tables *bundle.Bundle // as decoded from Data by the verify stage
	Data   []byte
}

// Options tune a compilation.
type Options struct {
	Limits  dfa.Limits // of the DFA construction
	Version string     // stamped compiler version; "" means version.String()
}

// DefaultOptions are what bpfboxc compile uses.
func DefaultOptions() Options { return Options{} } // zero dfa.Limits are its defaults

type state struct {
	opts   Options
	policy *policy.Policy
	res    Result
	built  *bundle.Bundle
}

// Stage is one step of the compiler.
type Stage struct {
	Name string
	run  func(*state) error
}

// Stages lists the compiler's stages in the order they run.
var Stages = []Stage{
	{"lower", func(s *state) (err error) { s.res.IR, err = ir.Lower(s.policy); return }},
	{"tables", func(s *state) (err error) {
		s.built, err = tables.Build(s.res.IR, s.opts.Limits, s.opts.Version)
		return
	}},
	{"encode", func(s *state) (err error) { s.res.Data, err = bundle.Encode(s.built); return }},
	{"verify", func(s *state) (err error) { s.res.Tables, err = bundle.Decode(s.res.Data); return }},
}

// Compile compiles p with DefaultOptions and returns the bundle's bytes.
func Compile(p *policy.Policy) ([]byte, error) {
	res, err := CompileWith(p, DefaultOptions())
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

// CompileWith runs every stage on p.
func CompileWith(p *policy.Policy, opts Options) (*Result, error) {
	if p == nil {
		return nil, fmt.Errorf("compile: no policy")
	}
	if opts.Version == "" {
		opts.Version = version.String()
	}
	s := &state{opts: opts, policy: p}
	for _, st := range Stages {
		if err := st.run(s); err != nil {
			return nil, fmt.Errorf("compile: %s: %w", st.Name, err)
		}
	}
	return &s.res, nil
}
