package check

// Diagnostic codes of the type checker. They are stable: tools and tests
// match on them. Errors are E1xx, security lints and other warnings W2xx,
// notes N3xx. Syntax errors come from the parser with its own codes.
const (
	CodeUnknownRule        = "E101" // unknown rule kind (fs, net, signal, ptrace, cap)
	CodeUnknownDirective   = "E102" // unknown directive #[...]
	CodeUnknownMode        = "E103" // unknown mode or operation name
	CodeWrongModeKind      = "E104" // a mode of another rule kind (e.g. bind in fs)
	CodeUnknownFamily      = "E105" // unknown socket family
	CodeUnknownSignal      = "E106" // unknown signal or signal group
	CodeUnknownCap         = "E107" // unknown capability
	CodeUnknownTarget      = "E108" // unknown signal/ptrace target
	CodeArgCount           = "E109" // wrong number of rule arguments
	CodeArgType            = "E110" // rule argument of the wrong form
	CodeRelativePath       = "E111" // path is not absolute
	CodeBadGlob            = "E112" // malformed path or glob
	CodeBadTransition      = "E113" // #[transition] on a rule that is not an allowed or tainting fs exec rule
	CodeConflictingActions = "E114" // two of #[allow], #[taint], #[deny] on one rule
	CodeNestedScope        = "E115" // a func/kfunc scope inside another scope
	CodeDoubleScope        = "E116" // two scope directives on one item
	CodeBadSymbol          = "E117" // malformed symbol name in #[func]
	CodeBadKFunc           = "E118" // malformed kernel function name in #[kfunc]
	CodeBadLib             = "E119" // `in "LIB"` misused, or LIB not an absolute literal path
	CodeMissingProfile     = "E120" // file has no #![profile]
	CodeRepeatedInner      = "E121" // an inner attribute given twice
	CodeMisplacedInner     = "E122" // an inner attribute after the first item
	CodeUnknownInner       = "E124" // unknown inner attribute #![...]
	CodeDirectiveArgs      = "E125" // wrong arguments to a directive or inner attribute
	CodeIncludeNotFound    = "E126" // included file cannot be read
	CodeIncludeCycle       = "E127" // include cycle
	CodeIncludeDepth       = "E128" // includes nested too deeply
	CodeUnknownStd         = "E129" // unknown standard abstraction include <name>
	CodeIncludedInner      = "E130" // an included file has inner attributes (#![profile] ...)
	CodeDuplicateProfile   = "E131" // two profiles of one bundle with the same PATH
	CodeInputTooLarge      = "E132" // the bundle's total input exceeds the size limit

	CodeBroadWrite        = "W201" // write/create/delete on a very broad glob
	CodeWriteExec         = "W202" // write and exec granted on the same path (W^X)
	CodeWorldWritableExec = "W203" // exec or map from a world-writable place
	CodePtraceAny         = "W204" // ptrace of any process
	CodeSignalAnyFatal    = "W205" // fatal signals to any process
	CodeCapSysAdmin       = "W206" // cap(sys_admin)
	CodeDuplicateRule     = "W207" // a rule repeated
	CodeShadowedRule      = "W208" // a rule whose grants an earlier rule already gives
	CodeTaintInTainted    = "W209" // a #[taint] rule in a #![tainted] profile
	CodeSymbolAbsent      = "W210" // #[func] symbol not in the executable or library
	CodeKFuncAbsent       = "W211" // #[kfunc] not in the running kernel's BTF
	CodeRepeatedName      = "W212" // a mode or name listed twice in one set
	CodeProfilesOverlap   = "W213" // two glob profile PATHs match a common executable: bundle order decides

	CodeImplicitTainted  = "N301" // no #[taint] rule: the profile behaves as #![tainted]
	CodeNoTransitionDest = "N302" // #[transition] to a path no profile of the bundle attaches to
	CodeNoTargetProfile  = "N303" // signal/ptrace target profile not in the bundle
)
