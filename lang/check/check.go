// Package check is the type checker of the .bbx language: it parses the
// files of one bundle, splices includes, resolves every rule into the
// checked form of package policy, and reports errors and security lints as
// diagnostics with stable codes (see codes.go).
//
// Checking is pure apart from Options: reading included files and the two
// probes of this machine (executable symbols, kernel BTF) that some lints use.
package check

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/parser"
	"github.com/bpfbox/bpfbox/lang/policy"
	"github.com/bpfbox/bpfbox/lang/source"
	"github.com/bpfbox/bpfbox/lang/stdlib"
)

// Limits on hostile input.
const (
	MaxIncludeDepth      = 16       // include nesting
	DefaultMaxInputBytes = 64 << 20 // total bytes of all files of one bundle, see Options.MaxInputBytes
)

// Options are the checker's access to the outside world.
type Options struct {
	// ReadFile reads included files; nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
	// Symbols returns the ELF symbol names (static and dynamic) of an
	// executable or library, or an error when it is absent or unreadable.
	// nil disables the lint for absent #[func] symbols.
	Symbols func(exe string) (map[string]bool, error)
	// KernelFuncs returns the function names of the running kernel's BTF.
	// nil, or an error, disables the lint for absent #[kfunc] names.
	KernelFuncs func() (map[string]bool, error)
	// MaxInputBytes bounds the total size of the bundle's files, includes
	// counted each time they are read; 0 means DefaultMaxInputBytes.
	MaxInputBytes int
}

// DefaultOptions reads files from disk and probes this machine: symbols
// through debug/elf and kernel functions through /sys/kernel/btf/vmlinux.
func DefaultOptions() Options {
	return Options{ReadFile: os.ReadFile, Symbols: ELFSymbols, KernelFuncs: KernelBTFFuncs}
}

// ELFSymbols returns the names in the static and dynamic symbol tables of
// the ELF file at path. A file with neither table is an error: nothing can
// be said about its functions.
func ELFSymbols(path string) (map[string]bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read symbols: %w", err)
	}
	defer f.Close()
	out := make(map[string]bool)
	static, errStatic := f.Symbols()
	dynamic, errDynamic := f.DynamicSymbols()
	if errStatic != nil && errDynamic != nil {
		return nil, fmt.Errorf("read symbols of %s: %w", path, errStatic)
	}
	for _, s := range append(static, dynamic...) {
		// Functions defined in this file: imports (SHN_UNDEF) live in other files.
		if (elf.ST_TYPE(s.Info) == elf.STT_FUNC || elf.ST_TYPE(s.Info) == elf.STT_GNU_IFUNC) && s.Section != elf.SHN_UNDEF {
			out[s.Name] = true
		}
	}
	return out, nil
}

// Input is one file given to the checker.
type Input struct {
	Name string // as shown in diagnostics; relative includes resolve against its directory
	Src  []byte
	// Fragment marks a file found by searching a directory rather than named
	// by the user: when it has no #![profile] it is an include fragment, and
	// its items are checked on their own instead of reporting E120.
	Fragment bool
}

// Check parses and checks the files of one bundle. Every file must declare
// #![profile] (except fragments, see Input). It returns the resolved policy,
// nil when there are errors, and all diagnostics sorted by position.
func Check(inputs []Input, opts Options) (*policy.Policy, diag.List) {
	c := newChecker(opts)
	pol := &policy.Policy{}
	var profiles []*profileState
	for _, in := range inputs {
		if !c.charge(len(in.Src), source.Span{File: in.Name, Start: source.Pos{Offset: 0, Line: 1, Col: 1}}) {
			break
		}
		c.addSource(in.Name, in.Src)
		f := c.parse(in.Name, in.Src)
		if f == nil {
			continue
		}
		if ps := c.checkFile(f, in.Fragment); ps != nil {
			profiles = append(profiles, ps)
		}
	}
	c.checkBundle(profiles)
	c.diags.Sort()
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	for _, ps := range profiles {
		pol.Profiles = append(pol.Profiles, ps.prof)
	}
	pol.Sources = c.sources
	return pol, c.diags
}

type checker struct {
	opts       Options
	diags      diag.List
	parsed     map[string]*ast.File // by file name: each file is parsed and its syntax reported once
	unreadable map[string]string    // included files that could not be read, with the reason
	sources    []policy.SourceFile
	seen       map[string]bool
	total      int
	overLimit  bool

	globs        map[string]*glob.Glob      // parsed globs by pattern
	symbols      map[string]map[string]bool // nil entry: probe failed
	kfuncs       map[string]bool
	kfuncsLoaded bool
}

func newChecker(opts Options) *checker {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.MaxInputBytes <= 0 {
		opts.MaxInputBytes = DefaultMaxInputBytes
	}
	return &checker{
		opts:       opts,
		parsed:     make(map[string]*ast.File),
		unreadable: make(map[string]string),
		seen:       make(map[string]bool),
		symbols:    make(map[string]map[string]bool),
		globs:      make(map[string]*glob.Glob),
	}
}

func (c *checker) errorf(code string, span source.Span, hint string, format string, args ...any) {
	c.diags.Add(diag.Error, code, span, fmt.Sprintf(format, args...), hint)
}

func (c *checker) warnf(code string, span source.Span, hint string, format string, args ...any) {
	c.diags.Add(diag.Warning, code, span, fmt.Sprintf(format, args...), hint)
}

func (c *checker) notef(code string, span source.Span, hint string, format string, args ...any) {
	c.diags.Add(diag.Note, code, span, fmt.Sprintf(format, args...), hint)
}

// charge counts n more input bytes against MaxInputBytes.
func (c *checker) charge(n int, at source.Span) bool {
	if c.overLimit {
		return false
	}
	c.total += n
	if c.total > c.opts.MaxInputBytes {
		c.overLimit = true
		c.errorf(CodeInputTooLarge, at, "split the policy into several bundles",
			"input too large: the bundle's files exceed %d bytes", c.opts.MaxInputBytes)
		return false
	}
	return true
}

func (c *checker) addSource(name string, data []byte) {
	if c.seen[name] {
		return
	}
	c.seen[name] = true
	c.sources = append(c.sources, policy.SourceFile{Name: name, Data: data})
}

// parse parses a file once and reports its syntax diagnostics once.
func (c *checker) parse(name string, src []byte) *ast.File {
	if f, ok := c.parsed[name]; ok {
		return f
	}
	f, ds := parser.Parse(name, src)
	c.diags = append(c.diags, ds...)
	c.parsed[name] = f
	return f
}

// profileState is a profile being built.
type profileState struct {
	prof     *policy.Profile
	fragment bool // an include fragment checked on its own: no profile-level lints
	lints    *linter
	stack    []string // include stack, file names
	hasTaint bool
	tainted  source.Span // #![tainted], when given
}

// checkFile checks one input file.
func (c *checker) checkFile(f *ast.File, fragment bool) *profileState {
	ps := &profileState{prof: &policy.Profile{File: f.Name}, stack: []string{f.Name}}
	ps.lints = newLinter(c, ps, len(f.Src)/40)
	firstItem := -1
	if len(f.Items) > 0 {
		firstItem = f.Items[0].ItemSpan().Start.Offset
		if ds := f.Items[0].ItemDirectives(); len(ds) > 0 && ds[0].Span.Start.Offset < firstItem {
			firstItem = ds[0].Span.Start.Offset
		}
	}
	var profileSpan, complainSpan source.Span
	for _, in := range f.Inner {
		if firstItem >= 0 && in.Span.Start.Offset > firstItem {
			c.errorf(CodeMisplacedInner, in.Span, "move it to the top of the file, before the first rule",
				"#![%s] must come before any rule, block or include", in.Name.Name)
			continue
		}
		switch in.Name.Name {
		case "profile":
			if profileSpan.IsValid() {
				c.errorf(CodeRepeatedInner, in.Span, "a file declares one profile; put other profiles in their own files",
					"repeated #![profile] (first at %s)", shortPos(profileSpan))
				continue
			}
			profileSpan = in.Span
			ps.prof.PathSpan = in.Span
			if in.Arg == nil || in.Arg.Kind != ast.ArgString {
				c.errorf(CodeDirectiveArgs, in.Span, `write #![profile "/usr/bin/program"]`,
					"#![profile] takes the absolute path of the executable as a string")
				continue
			}
			if c.checkPath(in.Arg, "profile path") {
				ps.prof.Path = in.Arg.Str
			}
		case "complain", "tainted":
			if in.Arg != nil {
				c.errorf(CodeDirectiveArgs, in.Arg.Span, "", "#![%s] takes no argument", in.Name.Name)
			}
			if in.Name.Name == "complain" {
				if complainSpan.IsValid() {
					c.errorf(CodeRepeatedInner, in.Span, "", "repeated #![complain]")
				}
				complainSpan = in.Span
				ps.prof.Complain = true
			} else {
				if ps.tainted.IsValid() {
					c.errorf(CodeRepeatedInner, in.Span, "", "repeated #![tainted]")
				}
				ps.tainted = in.Span
				ps.prof.Tainted = true
			}
		default:
			c.errorf(CodeUnknownInner, in.Name.Span, suggest(in.Name.Name, innerNames),
				"unknown inner attribute #![%s]", in.Name.Name)
		}
	}
	if !profileSpan.IsValid() {
		// A fragment has no inner attributes at all: one with #![complain] or
		// #![tainted] is a profile that lost its #![profile].
		if !fragment || len(f.Inner) > 0 {
			start := source.Span{File: f.Name, Start: source.Pos{Offset: 0, Line: 1, Col: 1}, End: source.Pos{Offset: 0, Line: 1, Col: 1}}
			c.errorf(CodeMissingProfile, start, `start the file with #![profile "/path/of/the/executable"]; files meant for include are named in an include line, not given to check`,
				"missing #![profile]")
		}
		ps.fragment = true
	}
	c.checkItems(ps, f.Items, ctx{}, 0)
	if !ps.fragment {
		c.profileLints(ps)
		return ps
	}
	return nil
}

var innerNames = []string{"profile", "complain", "tainted"}

// checkBundle runs the checks across profiles.
func (c *checker) checkBundle(profiles []*profileState) {
	first := make(map[string]*profileState)
	for _, ps := range profiles {
		if ps.prof.Path == "" {
			continue
		}
		if prev, ok := first[ps.prof.Path]; ok {
			c.errorf(CodeDuplicateProfile, ps.prof.PathSpan, "each executable path has one profile per bundle; merge the two files",
				"profile %q is already declared at %s", ps.prof.Path, prev.prof.PathSpan)
			continue
		}
		first[ps.prof.Path] = ps
	}
	c.attachLints(profiles)
}

// include splices the items of an included file in place, in context cx.
func (c *checker) include(ps *profileState, inc *ast.Include, cx ctx, depth int) {
	var name string
	var data []byte
	if inc.Std {
		name = "<" + inc.Path + ">"
		src, ok := stdlib.Lookup(inc.Path)
		if !ok {
			c.errorf(CodeUnknownStd, inc.PathSpan, suggestOr(inc.Path, stdlib.Names(), "the standard abstractions are "+angleList(stdlib.Names())),
				"unknown standard abstraction <%s>", inc.Path)
			return
		}
		data = src
	} else {
		p := inc.Path
		if p == "" {
			c.errorf(CodeIncludeNotFound, inc.PathSpan, "", "include of an empty path")
			return
		}
		if !filepath.IsAbs(p) {
			dir := filepath.Dir(inc.Span.File)
			if strings.HasPrefix(inc.Span.File, "<") { // std abstractions and <stdin> include relative to the working directory
				dir = "."
			}
			p = filepath.Join(dir, p)
		}
		name = filepath.Clean(p)
	}
	for i, s := range ps.stack {
		if s == name {
			chain := append(append([]string(nil), ps.stack[i:]...), name)
			c.errorf(CodeIncludeCycle, inc.Span, "", "include cycle: %s", strings.Join(chain, " -> "))
			return
		}
	}
	if depth+1 > MaxIncludeDepth {
		c.errorf(CodeIncludeDepth, inc.Span, "", "includes nested more than %d deep", MaxIncludeDepth)
		return
	}
	if msg, bad := c.unreadable[name]; bad {
		c.errorf(CodeIncludeNotFound, inc.PathSpan, "included paths are relative to the including file's directory",
			"cannot include %s: %s", name, msg)
		return
	}
	f, ok := c.parsed[name]
	if !ok {
		if !inc.Std {
			var err error
			data, err = c.opts.ReadFile(name)
			if err != nil {
				msg := err.Error()
				if errors.Is(err, os.ErrNotExist) {
					msg = "no such file"
				}
				c.unreadable[name] = msg
				c.errorf(CodeIncludeNotFound, inc.PathSpan, "included paths are relative to the including file's directory",
					"cannot include %s: %s", name, msg)
				return
			}
		}
		if !c.charge(len(data), inc.Span) {
			return
		}
		c.addSource(name, data)
		f = c.parse(name, data)
	}
	if f == nil {
		return
	}
	for _, in := range f.Inner {
		c.errorf(CodeIncludedInner, in.Span, "only the including file names the profile; remove this line",
			"included file %s cannot have #![%s]", name, in.Name.Name)
	}
	ps.stack = append(ps.stack, name)
	c.checkItems(ps, f.Items, cx, depth+1)
	ps.stack = ps.stack[:len(ps.stack)-1]
}

func angleList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "<" + n + ">"
	}
	return strings.Join(out, " ")
}

func shortPos(s source.Span) string {
	return fmt.Sprintf("%s:%d", s.File, s.Start.Line)
}
