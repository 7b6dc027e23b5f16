package runtime

import (
	"fmt"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// A profile slot is the number the kernel programs know a profile by: in
// task state (which profile confines a thread), in events, in the exec DFA's
// accepting states and in signal/ptrace rules aimed at a profile. A policy
// applied afresh numbers its slots as the bundle numbers its profiles. A
// policy that replaces a pinned one (apply --pin over it) shares the pinned
// policy's task state, so it keeps the numbering: a profile whose pattern the
// pinned policy had gets that profile's slot, a new pattern a fresh slot, and
// a pattern the new bundle drops keeps its slot, marked absent, so that the
// threads still holding it are unconfined by the new policy. A slot never
// changes pattern and is never given to another profile, not even to the same
// pattern brought back later: a process confined by a dropped profile stays
// unconfined until it execs.
type Slot struct {
	Pattern string `json:"pattern"`
	Profile int    `json:"profile"` // index in the bundle, or NoProfile: the slot is absent
}

// NoProfile marks an absent slot.
const NoProfile = -1

// Slots are a policy's profile slots, in slot order.
type Slots []Slot

// MaxSlots bounds how many slots a lineage of replacements may number; past
// it, unload the policy and apply afresh.
const MaxSlots = 65536

// IdentitySlots numbers b's profiles as b does.
func IdentitySlots(b *bundle.Bundle) Slots {
	s := make(Slots, len(b.Profiles))
	for i, p := range b.Profiles {
		s[i] = Slot{Pattern: p.Pattern, Profile: i}
	}
	return s
}

// NextSlots numbers b's profiles for a policy that replaces one numbered
// prev (see Slot).
func NextSlots(prev Slots, b *bundle.Bundle) (Slots, error) {
	index := make(map[string]int, len(b.Profiles))
	for i, p := range b.Profiles {
		if _, dup := index[p.Pattern]; dup {
			return nil, fmt.Errorf("number profile slots: two profiles attach to %q", p.Pattern)
		}
		index[p.Pattern] = i
	}
	next := make(Slots, 0, len(prev)+len(b.Profiles))
	placed := make([]bool, len(b.Profiles))
	for _, s := range prev {
		i, ok := index[s.Pattern]
		if s.Profile == NoProfile || !ok || placed[i] {
			next = append(next, Slot{Pattern: s.Pattern, Profile: NoProfile})
			continue
		}
		placed[i] = true
		next = append(next, Slot{Pattern: s.Pattern, Profile: i})
	}
	for i, p := range b.Profiles {
		if !placed[i] {
			next = append(next, Slot{Pattern: p.Pattern, Profile: i})
		}
	}
	if len(next) > MaxSlots {
		return nil, fmt.Errorf("number profile slots: %d slots, the most a pinned policy and its replacements may number is %d (unload it and apply afresh)",
			len(next), MaxSlots)
	}
	return next, nil
}

// SlotChange is what a replacement does to the profiles: patterns kept,
// added and removed, each in slot order.
type SlotChange struct {
	Kept, Added, Removed []string
}

// ChangeSlots compares the slots of a pinned policy with those of its
// replacement (NextSlots).
func ChangeSlots(prev, next Slots) SlotChange {
	var c SlotChange
	for i, s := range next {
		was := i < len(prev) && prev[i].Profile != NoProfile
		switch {
		case was && s.Profile != NoProfile:
			c.Kept = append(c.Kept, s.Pattern)
		case was:
			c.Removed = append(c.Removed, s.Pattern)
		case s.Profile != NoProfile:
			c.Added = append(c.Added, s.Pattern)
		}
	}
	return c
}

// profileOf returns the bundle index of the profile in slot, or false when
// the slot is absent or out of range.
func (s Slots) profileOf(slot uint32) (int, bool) {
	if int64(slot) >= int64(len(s)) || s[slot].Profile == NoProfile {
		return 0, false
	}
	return s[slot].Profile, true
}

// UseSlots renumbers a plan fresh from NewPlan by slots (NextSlots of the
// pinned policy's slots): the profiles map gets one record per slot (absent
// slots flagged, so the kernel programs treat their threads as unconfined),
// the exec DFA attaches to slots, signal and ptrace rules aimed at a profile
// name its slot, and config.num_profiles counts slots.
func (p *Plan) UseSlots(b *bundle.Bundle, slots Slots) error {
	if len(p.Profiles) != len(b.Profiles) || len(p.Slots) != len(b.Profiles) {
		return fmt.Errorf("plan bundle: slots: the plan is not fresh from NewPlan")
	}
	slotOf := make([]uint32, len(b.Profiles))
	seen := make([]bool, len(b.Profiles))
	for i, s := range slots {
		if s.Profile == NoProfile {
			continue
		}
		if s.Profile < 0 || s.Profile >= len(b.Profiles) || seen[s.Profile] || b.Profiles[s.Profile].Pattern != s.Pattern {
			return fmt.Errorf("plan bundle: slot %d (%s) does not name a profile of the bundle", i, s.Pattern)
		}
		seen[s.Profile] = true
		slotOf[s.Profile] = uint32(i)
	}
	for i, ok := range seen {
		if !ok {
			return fmt.Errorf("plan bundle: profile %d (%s) has no slot", i, b.Profiles[i].Pattern)
		}
	}
	profiles := make([]enforce.EnforceProfile, len(slots))
	for i, s := range slots {
		if s.Profile == NoProfile {
			profiles[i].Flags = profileAbsent
		} else {
			profiles[i] = p.Profiles[s.Profile]
		}
	}
	d := p.DFAs[b.ExecDFA]
	for st := uint32(0); st < d.NumStates; st++ {
		a := &p.Accepts[d.AcceptOff+st]
		if a.Count == 0 {
			continue
		}
		if a.Count != 1 || int(a.First) >= len(b.Profiles) {
			return fmt.Errorf("plan bundle: exec DFA state %d: accept {%d, %d} is not one profile", st, a.First, a.Count)
		}
		a.First = slotOf[a.First]
	}
	for i := range p.Entries {
		e := &p.Entries[i]
		if int(e.Rule) >= len(b.Rules) || e.Target == bundle.None {
			continue
		}
		switch policy.Kind(b.Rules[e.Rule].Kind) {
		case policy.Signal, policy.Ptrace:
			if policy.TargetKind(e.Arg) != policy.TargetProfile {
				continue
			}
			if int(e.Target) >= len(b.Profiles) {
				return fmt.Errorf("plan bundle: entry %d: target profile %d out of range", i, e.Target)
			}
			e.Target = slotOf[e.Target]
		}
	}
	p.Profiles = profiles
	p.Slots = slots
	p.Config.NumProfiles = uint32(len(slots))
	return nil
}
