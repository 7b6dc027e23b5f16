// Package version is the version of the bpfbox tools, stamped into bundles.
package version

import "runtime/debug"

// Version is the release; builds from a checkout add the VCS revision.
const Version = "0.1.0-dev"

// String gives the version with the VCS revision when the build knows it.
func String() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return Version + "+" + s.Value[:12]
			}
		}
	}
	return Version
}
