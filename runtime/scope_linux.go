//go:build linux

package runtime

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfbox/bpfbox/lang/policy"
)

// checkScopes verifies, before anything is loaded, that every scope of the
// plan can be probed: the user functions have symbols in binaries that are
// not Go programs, the kernel functions are in the kernel's BTF.
func checkScopes(p *Plan) error {
	var kernel *btf.Spec
	for _, s := range p.Scopes {
		var err error
		switch s.Kind {
		case policy.FuncScope:
			err = checkFuncSymbol(s.Binary, s.Symbol)
		case policy.KFuncScope:
			if kernel == nil {
				if kernel, err = btf.LoadKernelSpec(); err != nil {
					return fmt.Errorf("apply bundle: %s: read the kernel's BTF: %w", s.Rule, err)
				}
			}
			err = checkKFunc(kernel, s.Symbol)
		}
		if err != nil {
			return fmt.Errorf("apply bundle: %s: %s: %w", s.Rule, s, err)
		}
	}
	return nil
}

// attachScopes puts the entry and return probes on every scope's function,
// with the scope id as cookie, and the hook that drops scopes at exec.
func (e *Enforcer) attachScopes(spec *ebpf.CollectionSpec, p *Plan) error {
	if len(p.Scopes) == 0 {
		return nil
	}
	l, err := link.AttachLSM(link.LSMOptions{Program: e.objs.BpfboxScopeExec})
	if err != nil {
		return fmt.Errorf("attach bprm_committed_creds (scopes): %w", err)
	}
	e.addLink("scope_exec", l)
	exes := map[string]*link.Executable{}
	for _, s := range p.Scopes {
		var err error
		switch s.Kind {
		case policy.FuncScope:
			ex := exes[s.Binary]
			if ex == nil {
				if ex, err = link.OpenExecutable(s.Binary); err != nil {
					return fmt.Errorf("%s: %s: %w", s.Rule, s, err)
				}
				exes[s.Binary] = ex
			}
			err = e.attachUprobes(ex, s)
		case policy.KFuncScope:
			err = e.attachKFunc(spec, s)
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", s.Rule, s, err)
		}
	}
	n := 0
	for _, s := range p.Scopes { // in plan order: link names are stable
		if ex := exes[s.Binary]; ex != nil {
			delete(exes, s.Binary)
			if err := e.attachLongjmp(s.Binary, &n); err != nil {
				return err
			}
		}
	}
	return nil
}

// addLink keeps l under a name unique in the policy (its pin name).
func (e *Enforcer) addLink(name string, l link.Link) {
	e.links = append(e.links, l)
	e.linkNames = append(e.linkNames, name)
}

// attachLongjmp probes glibc's longjmp entry points in bin and in the libc
// it is linked with, so that a jump out of a scoped function leaves it.
func (e *Enforcer) attachLongjmp(bin string, n *int) error {
	for _, target := range longjmpTargets(bin) {
		ex, err := link.OpenExecutable(target.path)
		if err != nil {
			return fmt.Errorf("probe longjmp in %s: %w", target.path, err)
		}
		for _, sym := range target.symbols {
			l, err := ex.Uprobe(sym, e.objs.BpfboxScopeLongjmp, nil)
			if err != nil {
				return fmt.Errorf("probe %s in %s: %w", sym, target.path, err)
			}
			*n++
			e.addLink(fmt.Sprintf("scope_longjmp_%d", *n), l)
		}
	}
	return nil
}

func (e *Enforcer) attachUprobes(ex *link.Executable, s ScopeProbe) error {
	opts := &link.UprobeOptions{Cookie: uint64(s.ID)}
	// The return probe first: an entry counted with no return probe in place
	// would keep the thread inside until it leaves by the stack check.
	ret, err := ex.Uretprobe(s.Symbol, e.objs.BpfboxScopeUretprobe, opts)
	if err != nil {
		return fmt.Errorf("attach uretprobe: %w", err)
	}
	e.addLink(fmt.Sprintf("scope_%d_uretprobe", s.ID), ret)
	ent, err := ex.Uprobe(s.Symbol, e.objs.BpfboxScopeUprobe, opts)
	if err != nil {
		return fmt.Errorf("attach uprobe: %w", err)
	}
	e.addLink(fmt.Sprintf("scope_%d_uprobe", s.ID), ent)
	return nil
}

// attachKFunc loads the fentry/fexit programs for s's kernel function (they
// bind to it at load), sharing the loaded maps, and attaches them.
func (e *Enforcer) attachKFunc(spec *ebpf.CollectionSpec, s ScopeProbe) error {
	cs := spec.Copy()
	var progs struct {
		Fentry *ebpf.Program `ebpf:"bpfbox_scope_fentry"`
		Fexit  *ebpf.Program `ebpf:"bpfbox_scope_fexit"`
	}
	for _, name := range []string{"bpfbox_scope_fentry", "bpfbox_scope_fexit"} {
		cs.Programs[name].AttachTo = s.Symbol
	}
	if err := cs.Variables["kfunc_scope"].Set(uint64(s.ID)); err != nil {
		return fmt.Errorf("set the scope id: %w", err)
	}
	err := cs.LoadAndAssign(&progs, &ebpf.CollectionOptions{MapReplacements: map[string]*ebpf.Map{
		"tasks": e.objs.Tasks, "scopes": e.objs.Scopes, "scope_counters": e.objs.ScopeCounters,
	}})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("load fentry/fexit (is the function attachable?): %+v", ve)
		}
		return fmt.Errorf("load fentry/fexit (is the function attachable?): %w", err)
	}
	e.scopeProgs = append(e.scopeProgs, progs.Fentry, progs.Fexit)
	for _, a := range []struct {
		name string
		prog *ebpf.Program
	}{{"fexit", progs.Fexit}, {"fentry", progs.Fentry}} {
		l, err := link.AttachTracing(link.TracingOptions{Program: a.prog})
		if err != nil {
			return fmt.Errorf("attach %s: %w", a.name, err)
		}
		e.addLink(fmt.Sprintf("scope_%d_%s", s.ID, a.name), l)
	}
	return nil
}

// ScopeEntriesLost reads how many function entries could not be counted.
func (e *Enforcer) ScopeEntriesLost() (uint64, error) {
	var n uint64
	if err := e.objs.ScopeCounters.Lookup(uint32(0), &n); err != nil {
		return 0, fmt.Errorf("read scope counters: %w", err)
	}
	return n, nil
}
