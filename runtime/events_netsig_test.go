package runtime

import (
	"strings"
	"testing"
	"time"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
)

// Events of net, signal, ptrace and cap requests name their object (family,
// target process) and their modes in the vocabulary of their rule kind.
func TestDecodeNetSigEvents(t *testing.T) {
	b := &bundle.Bundle{
		Sources:  []bundle.Source{{Name: "webd.bbx"}},
		Profiles: []bundle.Profile{{Pattern: "/usr/local/sbin/webd"}},
		Rules: []bundle.Rule{
			{Source: 0, Line: 19, Col: 5, Text: `net(inet, bind|connect)`},
			{Source: 0, Line: 30, Col: 1, Text: `signal(child, sigterm|sigkill|check)`},
		},
	}
	d := NewDecoder(b, time.Unix(1_800_000_000, 0).Sub(time.Unix(0, 0)))
	base := enforce.EnforceEvent{TimeNs: 5e9, Pid: 42, Tid: 43, Comm: comm("webd"), Profile: 0,
		NewProfile: noneIdx, Rule: noneIdx, AuditRule: noneIdx, TransitionRule: noneIdx}
	taint := base
	taint.Op, taint.Requested, taint.Family, taint.Flags, taint.Rule = opNet, 1<<1, 2, evTaint, 0
	other := base
	other.Op, other.Requested, other.Family, other.Flags, other.Missing = opNet, 1<<0, 0, evDeny|evTainted|evNoRule, 1<<0
	sig := base
	sig.Op, sig.Requested, sig.TargetPid, sig.Flags, sig.Rule = opSignal, 1<<15, 77, evAudit, 1
	sig.AuditRule = 1
	check := base
	check.Op, check.Requested, check.TargetPid, check.Flags, check.Missing = opSignal, 1, 1, evDeny|evTainted|evNoRule, 1
	ptrace := base
	ptrace.Op, ptrace.Requested, ptrace.TargetPid, ptrace.Flags, ptrace.Missing = opPtrace, 2, 78, evDeny|evTainted|evNoRule, 2
	capability := base
	capability.Op, capability.Requested, capability.Flags, capability.Missing = opCap, 1<<10, evDeny|evTainted|evNoRule, 1<<10

	tests := []struct {
		ev         enforce.EnforceEvent
		text, json string
	}{
		{taint,
			`2027-01-15T08:00:05Z allow net inet bind pid=42 tid=43 comm="webd" profile=/usr/local/sbin/webd taint rule=webd.bbx:19:5 net(inet, bind|connect)`,
			`{"time":"2027-01-15T08:00:05Z","pid":42,"tid":43,"comm":"webd","profile":"/usr/local/sbin/webd","op":"net","family":"inet","requested":"bind","decision":"allow","enforced":true,"taint":true,"rule":"webd.bbx:19:5","rule_text":"net(inet, bind|connect)"}`},
		{other,
			`2027-01-15T08:00:05Z deny net other create pid=42 tid=43 comm="webd" profile=/usr/local/sbin/webd tainted missing=create (tainted: no rule grants every requested mode (default deny))`, ""},
		{sig,
			`2027-01-15T08:00:05Z allow signal sigterm target=77 pid=42 tid=43 comm="webd" profile=/usr/local/sbin/webd audit rule=webd.bbx:30:1 signal(child, sigterm|sigkill|check)`,
			`{"time":"2027-01-15T08:00:05Z","pid":42,"tid":43,"comm":"webd","profile":"/usr/local/sbin/webd","op":"signal","target_pid":77,"requested":"sigterm","decision":"allow","enforced":true,"audit":true,"rule":"webd.bbx:30:1","rule_text":"signal(child, sigterm|sigkill|check)","audit_rule":"webd.bbx:30:1"}`},
		{check,
			`2027-01-15T08:00:05Z deny signal check target=1 pid=42 tid=43 comm="webd" profile=/usr/local/sbin/webd tainted missing=check (tainted: no rule grants every requested mode (default deny))`, ""},
		{ptrace,
			`2027-01-15T08:00:05Z deny ptrace attach target=78 pid=42 tid=43 comm="webd" profile=/usr/local/sbin/webd tainted missing=attach (tainted: no rule grants every requested mode (default deny))`, ""},
		{capability,
			`2027-01-15T08:00:05Z deny cap net_bind_service pid=42 tid=43 comm="webd" profile=/usr/local/sbin/webd tainted missing=net_bind_service (tainted: no rule grants every requested mode (default deny))`,
			`{"time":"2027-01-15T08:00:05Z","pid":42,"tid":43,"comm":"webd","profile":"/usr/local/sbin/webd","op":"cap","requested":"net_bind_service","decision":"deny","enforced":true,"tainted":true,"reason":"tainted: no rule grants every requested mode (default deny)","missing":"net_bind_service"}`},
	}
	for _, tt := range tests {
		ev, err := d.Decode(record(t, tt.ev, ""))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		var text, js strings.Builder
		if err := WriteEvent(&text, EventsText, ev); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(text.String(), "\n"); got != tt.text {
			t.Errorf("text:\n got %s\nwant %s", got, tt.text)
		}
		if err := WriteEvent(&js, EventsJSON, ev); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(js.String(), "\n"); tt.json != "" && got != tt.json {
			t.Errorf("json:\n got %s\nwant %s", got, tt.json)
		}
	}
}
