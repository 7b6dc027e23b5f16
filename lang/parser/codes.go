package parser

// Diagnostic codes of the parser. They are stable: tests, editors and users
// refer to them, so a code is never reused for a different problem.
const (
	CodeFileTooLarge      = "P001" // the file is larger than MaxFileSize; nothing is parsed
	CodeNUL               = "P002" // a NUL byte in the source
	CodeInvalidUTF8       = "P003" // bytes that are not valid UTF-8
	CodeUnexpectedChar    = "P004" // a character that starts no token (e.g. '@', ';', a digit, a lone '#')
	CodeUpperCaseIdent    = "P005" // an identifier with upper-case letters; .bbx names are lower-case
	CodeUnterminatedStr   = "P006" // a string not closed before the end of its line
	CodeBadEscape         = "P007" // an escape other than \\ \" \n \t \xHH
	CodeControlInString   = "P008" // a raw control character (other than tab) inside a string
	CodeUnterminatedCmt   = "P009" // a /* comment with no */
	CodeSyntax            = "P020" // the tokens do not form an item: "expected X, found Y"
	CodeUnmatchedClose    = "P021" // a '}' with no open block
	CodeUnclosedBlock     = "P022" // a '{' never closed before the end of the file
	CodeTooDeep           = "P023" // blocks nested deeper than MaxDepth
	CodeDanglingDirective = "P024" // #[...] directives followed by no rule, block or include
	CodeTooManyErrors     = "P025" // error limit reached; the rest of the file is not reported
	CodeInternal          = "P099" // a tree the formatter cannot print: a bug in bpfbox, never the user's fault
)
