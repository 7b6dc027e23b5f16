package runtime

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
)

func eventBundle() *bundle.Bundle {
	return &bundle.Bundle{
		Sources:  []bundle.Source{{Name: "login.bbx"}},
		Profiles: []bundle.Profile{{Pattern: "/usr/bin/mylogin"}, {Pattern: "/usr/bin/helper"}},
		Rules: []bundle.Rule{
			{Source: 0, Line: 3, Col: 9, Text: `fs("/etc/shadow", read)`},
			{Source: 0, Line: 5, Col: 10, Text: `fs("/var/log/x", append)`},
			{Source: bundle.None, Line: 1, Col: 1},
		},
	}
}

// record encodes ev as the kernel does: the header and path_len bytes of path.
func record(t *testing.T, ev enforce.EnforceEvent, path string) []byte {
	t.Helper()
	for i := range path {
		ev.Path[i] = int8(path[i])
	}
	ev.PathLen = uint32(len(path))
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, &ev); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[:eventHeaderSize+len(path)]
}

func comm(s string) (c [16]int8) {
	for i := range s {
		c[i] = int8(s[i])
	}
	return c
}

func TestDecodeAndWriteEvents(t *testing.T) {
	d := NewDecoder(eventBundle(), time.Unix(1_800_000_000, 0).Sub(time.Unix(0, 0)))
	base := enforce.EnforceEvent{TimeNs: 5e9, Pid: 42, Tid: 43, Comm: comm("mylogin"), Profile: 0,
		NewProfile: noneIdx, Rule: noneIdx, AuditRule: noneIdx, TransitionRule: noneIdx}
	deny := base
	deny.Op, deny.Requested, deny.Flags, deny.Rule = 2, 1, evDeny, 0
	tainted := base
	tainted.Op, tainted.Requested, tainted.Flags, tainted.Missing = 2, 3, evDeny|evTainted|evNoRule|evComplain, 2
	audit := base
	audit.Op, audit.Requested, audit.Flags, audit.Rule, audit.AuditRule = 2, 4, evAudit, 1, 1
	attach := base
	attach.Op, attach.Requested, attach.Flags, attach.Profile, attach.NewProfile = 1, 8, evAttach, noneIdx, 1
	trans := base
	trans.Op, trans.Requested, trans.Flags, trans.NewProfile, trans.Rule, trans.TransitionRule = 1, 8, evTransition, 1, 2, 2
	bpf := base
	bpf.Op, bpf.Flags = 3, evDeny|evNoRule

	tests := []struct {
		ev         enforce.EnforceEvent
		path       string
		text, json string
	}{
		{deny, "/etc/shadow",
			`2027-01-15T08:00:05Z deny open /etc/shadow read pid=42 tid=43 comm="mylogin" profile=/usr/bin/mylogin rule=login.bbx:3:9 fs("/etc/shadow", read)`,
			`{"time":"2027-01-15T08:00:05Z","pid":42,"tid":43,"comm":"mylogin","profile":"/usr/bin/mylogin","op":"open","path":"/etc/shadow","requested":"read","decision":"deny","enforced":true,"rule":"login.bbx:3:9","rule_text":"fs(\"/etc/shadow\", read)"}`},
		{tainted, "/etc/x",
			`2027-01-15T08:00:05Z deny (complain) open /etc/x read|write pid=42 tid=43 comm="mylogin" profile=/usr/bin/mylogin tainted missing=write (tainted: no rule grants every requested mode (default deny))`,
			`{"time":"2027-01-15T08:00:05Z","pid":42,"tid":43,"comm":"mylogin","profile":"/usr/bin/mylogin","op":"open","path":"/etc/x","requested":"read|write","decision":"deny","enforced":false,"tainted":true,"reason":"tainted: no rule grants every requested mode (default deny)","missing":"write"}`},
		{audit, "/var/log/x",
			`2027-01-15T08:00:05Z allow open /var/log/x append pid=42 tid=43 comm="mylogin" profile=/usr/bin/mylogin audit rule=login.bbx:5:10 fs("/var/log/x", append)`, ""},
		{attach, "/usr/bin/helper",
			`2027-01-15T08:00:05Z allow exec /usr/bin/helper exec pid=42 tid=43 comm="mylogin" attach new_profile=/usr/bin/helper`, ""},
		{trans, "/usr/bin/helper",
			`2027-01-15T08:00:05Z allow exec /usr/bin/helper exec pid=42 tid=43 comm="mylogin" profile=/usr/bin/mylogin transition new_profile=/usr/bin/helper rule=rule 2`, ""},
		{bpf, "",
			`2027-01-15T08:00:05Z deny bpf pid=42 tid=43 comm="mylogin" profile=/usr/bin/mylogin (confined processes may not use bpf())`, ""},
	}
	for _, tt := range tests {
		ev, err := d.Decode(record(t, tt.ev, tt.path))
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
		var none strings.Builder
		if err := WriteEvent(&none, EventsNone, ev); err != nil || none.Len() != 0 {
			t.Errorf("none format wrote %q, %v", none.String(), err)
		}
	}
}

func TestDecodeRejectsBadRecords(t *testing.T) {
	d := NewDecoder(eventBundle(), 0)
	if _, err := d.Decode(make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "shorter than the") {
		t.Errorf("short record: %v", err)
	}
	ev := enforce.EnforceEvent{PathLen: 100}
	rec := record(t, ev, "/x")
	rec[unsafe.Offsetof(ev.PathLen)] = 200 // path_len beyond the record
	if _, err := d.Decode(rec); err == nil {
		t.Errorf("overlong path_len: no error")
	}
}
