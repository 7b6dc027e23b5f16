package runtime

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
)

func compileArchive(t *testing.T, src string) *bundle.Bundle {
	t.Helper()
	return compileFiles(t, txtar.Parse([]byte(src)))
}

// The first bundle: profiles /a, /b, /c.
const slotsV1 = `
-- a.bbx --
#![profile "/usr/bin/a"]
#[deny] fs("/etc/a-secret", read)
-- b.bbx --
#![profile "/usr/bin/b"]
#[deny] fs("/etc/b-secret", read)
-- c.bbx --
#![profile "/usr/bin/c"]
#[deny] fs("/etc/c-secret", read)
`

// Its replacement drops /b, adds /d, and lists the kept ones in another order;
// /c may signal processes confined by /d and ptrace those of /a.
const slotsV2 = `
-- d.bbx --
#![profile "/usr/bin/d"]
#[deny] fs("/etc/d-secret", read)
-- c.bbx --
#![profile "/usr/bin/c"]
#![tainted]
fs("/etc/c-public", read)
signal("/usr/bin/d", sigterm)
ptrace("/usr/bin/a", read)
net(packet, create)
-- a.bbx --
#![profile "/usr/bin/a"]
#[deny] fs("/etc/a-secret", read|write)
`

// A third bundle brings /b back and drops everything else.
const slotsV3 = `
-- b.bbx --
#![profile "/usr/bin/b"]
fs("/etc/b-public", read)
`

func TestSlotsFirstApplyIsTheBundleNumbering(t *testing.T) {
	b := compileArchive(t, slotsV1)
	p, err := NewPlan(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Slots{{"/usr/bin/a", 0}, {"/usr/bin/b", 1}, {"/usr/bin/c", 2}}
	if diff := cmp.Diff(want, p.Slots); diff != "" {
		t.Errorf("slots (-want +got):\n%s", diff)
	}
	if p.Config.NumProfiles != 3 {
		t.Errorf("num_profiles = %d, want 3", p.Config.NumProfiles)
	}
}

func TestSlotsReplacementKeepsPatterns(t *testing.T) {
	b1, b2, b3 := compileArchive(t, slotsV1), compileArchive(t, slotsV2), compileArchive(t, slotsV3)
	s1 := IdentitySlots(b1)
	s2, err := NextSlots(s1, b2)
	if err != nil {
		t.Fatal(err)
	}
	// b2 lists d, c, a: kept patterns keep their slot, /b is absent, /d is new.
	want2 := Slots{{"/usr/bin/a", 2}, {"/usr/bin/b", NoProfile}, {"/usr/bin/c", 1}, {"/usr/bin/d", 0}}
	if diff := cmp.Diff(want2, s2); diff != "" {
		t.Errorf("slots of the replacement (-want +got):\n%s", diff)
	}
	ch := ChangeSlots(s1, s2)
	wantCh := SlotChange{Kept: []string{"/usr/bin/a", "/usr/bin/c"}, Added: []string{"/usr/bin/d"}, Removed: []string{"/usr/bin/b"}}
	if diff := cmp.Diff(wantCh, ch); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}

	// /b comes back in a fresh slot: slot 1 is never reused, since threads
	// may still hold it.
	s3, err := NextSlots(s2, b3)
	if err != nil {
		t.Fatal(err)
	}
	want3 := Slots{{"/usr/bin/a", NoProfile}, {"/usr/bin/b", NoProfile}, {"/usr/bin/c", NoProfile}, {"/usr/bin/d", NoProfile}, {"/usr/bin/b", 0}}
	if diff := cmp.Diff(want3, s3); diff != "" {
		t.Errorf("slots of the second replacement (-want +got):\n%s", diff)
	}
	ch = ChangeSlots(s2, s3)
	wantCh = SlotChange{Added: []string{"/usr/bin/b"}, Removed: []string{"/usr/bin/a", "/usr/bin/c", "/usr/bin/d"}}
	if diff := cmp.Diff(wantCh, ch); diff != "" {
		t.Errorf("second change (-want +got):\n%s", diff)
	}
}

func TestUseSlotsRenumbersTheKernelTables(t *testing.T) {
	b1, b2 := compileArchive(t, slotsV1), compileArchive(t, slotsV2)
	slots, err := NextSlots(IdentitySlots(b1), b2)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(b2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := NewPlan(b2, Options{})
	if err := p.UseSlots(b2, slots); err != nil {
		t.Fatal(err)
	}
	if p.Config.NumProfiles != 4 || len(p.Profiles) != 4 {
		t.Fatalf("num_profiles = %d, %d profile records; want 4 slots", p.Config.NumProfiles, len(p.Profiles))
	}
	// The absent slot is flagged and nothing else; present slots hold their
	// profile's record unchanged.
	if p.Profiles[1] != enforceProfileAbsent() {
		t.Errorf("slot 1 (/usr/bin/b, dropped) = %+v, want only the absent flag", p.Profiles[1])
	}
	for slot, idx := range map[int]int{0: 2, 2: 1, 3: 0} {
		if p.Profiles[slot] != fresh.Profiles[idx] {
			t.Errorf("slot %d = %+v, want profile %d's record %+v", slot, p.Profiles[slot], idx, fresh.Profiles[idx])
		}
		if p.Profiles[slot].Flags&profileAbsent != 0 {
			t.Errorf("slot %d is flagged absent", slot)
		}
	}
	// The exec DFA attaches to slots.
	for path, wantSlot := range map[string]uint32{"/usr/bin/a": 0, "/usr/bin/c": 2, "/usr/bin/d": 3} {
		first, count, ok := kernelWalk(p, p.Config.ExecDfa, path)
		if !ok || count != 1 || first != wantSlot {
			t.Errorf("exec walk of %s = (%d, %d, %v), want slot %d", path, first, count, ok, wantSlot)
		}
		idx, _ := decide.Attach(b2, path)
		if got, _ := slots.profileOf(first); got != int(idx) {
			t.Errorf("slot %d of %s decodes to profile %d, bundle attaches profile %d", first, path, got, idx)
		}
	}
	if _, _, ok := kernelWalk(p, p.Config.ExecDfa, "/usr/bin/b"); ok {
		t.Errorf("exec walk of /usr/bin/b attaches: the replacement has no profile for it")
	}
	// Rules aimed at a profile name its slot; other entries keep their
	// argument and target (net(packet) has arg 5 too: it is not a target).
	for i, e := range p.Entries {
		orig := fresh.Entries[i]
		rule := b2.Rules[e.Rule]
		switch rule.Text {
		case `signal("/usr/bin/d", sigterm)`:
			if e.Target != 3 {
				t.Errorf("%s: target %d, want slot 3", rule.Text, e.Target)
			}
		case `ptrace("/usr/bin/a", read)`:
			if e.Target != 0 {
				t.Errorf("%s: target %d, want slot 0", rule.Text, e.Target)
			}
		default:
			if e != orig {
				t.Errorf("%s: entry %+v changed to %+v", rule.Text, orig, e)
			}
		}
	}
}

func TestUseSlotsRefusesSlotsOfAnotherBundle(t *testing.T) {
	b1, b2 := compileArchive(t, slotsV1), compileArchive(t, slotsV2)
	p, err := NewPlan(b2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.UseSlots(b2, IdentitySlots(b1)); err == nil {
		t.Errorf("UseSlots with the slots of another bundle: no error")
	}
	if err := p.UseSlots(b2, Slots{{"/usr/bin/d", 0}, {"/usr/bin/c", 1}}); err == nil {
		t.Errorf("UseSlots with a profile left without a slot: no error")
	}
}

func enforceProfileAbsent() (p enforce.EnforceProfile) {
	p.Flags = profileAbsent
	return p
}
