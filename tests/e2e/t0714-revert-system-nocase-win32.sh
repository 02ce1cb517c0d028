#!/usr/bin/env bash
# As t0713, with Win32-namespace names and DOS names, as Windows writes them
# (ntfsinfo shows the namespaces): WINDOWS\system32 and windows\SYSTEM32 as
# "Win32 & DOS" names; wINDOWS\sYSTEM32 as Win32 names with separate DOS
# names WINDOW~1\SYSTEM~1; and a folder found only by its DOS name WINDOWS
# (long name Windows-NT), as Windows finds it. Reverting each in place is
# refused without --offline, not a byte changed; with --offline it is reverted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nocase-fixture.sh"

# mk IMG DIR DOS SUB SUBDOS: DIR\SUB, with DOS names DOS and SUBDOS
mk() {
	nc_volume "$1"
	nc_mount "$1"
	mkdir -p "$T/m/$2/$4"
	nc_dos "$2/$4" "$5"
	nc_dos "$2" "$3"
	nc_umount "$1"
}

mk "$T/a.img" WINDOWS WINDOWS system32 SYSTEM32
assert_eq "$(nc_names "$T/a.img" /WINDOWS)" "Win32 & DOS:WINDOWS" "names of WINDOWS"
assert_eq "$(nc_names "$T/a.img" /WINDOWS/system32)" "Win32 & DOS:system32" "names of system32"
nc_revert_image "$T/a.img"

mk "$T/b.img" windows WINDOWS SYSTEM32 SYSTEM32
assert_eq "$(nc_names "$T/b.img" /windows)" "Win32 & DOS:windows" "names of windows"
assert_eq "$(nc_names "$T/b.img" /windows/SYSTEM32)" "Win32 & DOS:SYSTEM32" "names of SYSTEM32"
nc_revert_image "$T/b.img"

mk "$T/c.img" wINDOWS WINDOW~1 sYSTEM32 SYSTEM~1
assert_eq "$(nc_names "$T/c.img" /wINDOWS | sort | paste -sd/)" "DOS:WINDOW~1/Win32:wINDOWS" "names of wINDOWS"
assert_eq "$(nc_names "$T/c.img" /wINDOWS/sYSTEM32 | sort | paste -sd/)" "DOS:SYSTEM~1/Win32:sYSTEM32" "names of sYSTEM32"
nc_revert_image "$T/c.img"

mk "$T/d.img" Windows-NT WINDOWS System32 SYSTEM32
assert_eq "$(nc_names "$T/d.img" /Windows-NT | sort | paste -sd/)" "DOS:WINDOWS/Win32:Windows-NT" "names of Windows-NT"
nc_revert_image "$T/d.img"
exit 0
