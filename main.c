/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shadowrev: the verb table. Each verb lives in its module as cmd_<verb>(). */
#include <stdio.h>
#include <string.h>

#include "capture/capture.h"
#include "catalog/catalog.h"
#include "core/cli.h"
#include "core/crypto.h"
#include "core/log.h"
#include "mount/mount.h"
#include "recover/recover.h"
#include "revert/revert.h"

static int cmd_help(int argc, char **argv);
static int cmd_list_any(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct cli_verb verbs[] = {
	{ "list", cmd_list_any, "list snapshot sets, shadow copies, volumes, writers, shadow storage",
	  "usage: shadowrev list sets [--repo DIR] [--passphrase-file FILE] [--json]\n"
	  "       shadowrev list shadows|volumes|writers [--set ID] [--repo DIR] [--json]\n"
	  "       shadowrev list storage [--repo DIR] [--json]\n"
	  "       shadowrev list shadows [--image] IMAGE... [--json]\n"
	  "       shadowrev list exposed [--root DIR] [--repo DIR] [--json]\n"
	  "\n"
	  "From the catalog of the repository (--repo DIR, else $SHADOWREV_REPO, else the\n"
	  "default repository), brought up to date with the repository first:\n"
	  "  sets      snapshot sets: source (captured, a shadow copy inside a captured\n"
	  "            volume and the set that holds it, imported), instance, machine,\n"
	  "            creation time, backup type, volumes, the consistency level\n"
	  "            (application, file system, crash) with its evidence, and the\n"
	  "            writers that took part and those whose data is crash-consistent\n"
	  "  shadows   shadow copies: IDs, set, original volume, times, context,\n"
	  "            attributes, machines, device, provider, where they came from\n"
	  "  volumes   volumes per set: drive letter, volume GUID path, file system,\n"
	  "            size, disk and offset, system and boot roles\n"
	  "  writers   VSS writers per set, their components and consistency\n"
	  "  storage   shadow storage associations, the revert order they imply, and\n"
	  "            the cycles that prevent one\n"
	  "IDs are accepted with or without braces, in any case, or as a unique prefix of\n"
	  "at least 4 hex digits.\n"
	  "\n"
	  "Without a repository: when the first argument after 'shadows' is an existing\n"
	  "file or block device (or with --image), every VSS shadow copy inside the NTFS\n"
	  "volumes of the images given (volume images, or whole disks with an MBR or GPT\n"
	  "partition table), per volume, oldest first: shadow copy ID, set ID, store ID,\n"
	  "creation time (UTC, 100 ns), context, attributes, machines, and where the\n"
	  "shadow storage is. Give the volume that holds another volume's shadow storage\n"
	  "alongside it.\n"
	  "\n"
	  "  --set ID        only this snapshot set\n"
	  "  --repo DIR      the repository\n"
	  "  --passphrase-file FILE  passphrase of an encrypted repository\n"
	  "  --image         the arguments are images, even if they do not exist (an error)\n"
	  "  --json          machine-readable output\n"
	  "  --quiet         no messages but errors\n" },
	{ "catalog", cmd_catalog, "import metadata documents into the catalog; rebuild it",
	  "usage: shadowrev catalog import SET-ID FILE... [--repo DIR] [--json]\n"
	  "       shadowrev catalog rebuild [--repo DIR] [--json]\n"
	  "\n"
	  "import: add what Windows wrote about a snapshot set to the catalog, in one\n"
	  "transaction (one bad document and nothing is imported): backup components\n"
	  "documents (BCD), writer metadata, diskshadow 'set metadata' .cab files, VMware\n"
	  "*vss_manifests*.zip files, the output of diskshadow 'create' / 'list shadows'\n"
	  "and of vssadmin 'list shadows' / 'list shadowstorage' (any language; UTF-8 or\n"
	  "UTF-16), and NTFS volume or disk images (their VSS shadow copies). SET-ID is a\n"
	  "set of the catalog (ID, braces and case free, or a unique prefix), or a new\n"
	  "set that the documents name (its ID or a unique prefix). A file that is not\n"
	  "understood fails the import. The documents are kept in DIR/catalog-documents.\n"
	  "\n"
	  "rebuild: make the catalog (DIR/catalog.sqlite) again from the repository's\n"
	  "manifests, attached documents and captured volumes, and the kept documents.\n"
	  "\n"
	  "  --repo DIR      the repository (else $SHADOWREV_REPO, else the default one)\n"
	  "  --passphrase-file FILE  passphrase of an encrypted repository\n"
	  "  --json, --quiet\n" },
	{ "export", cmd_export, "write the raw volume of one shadow copy",
	  "usage: shadowrev export SHADOW-ID IMAGE... --to FILE|-\n"
	  "       shadowrev export SHADOW-ID [--repo DIR] --to FILE|-\n"
	  "\n"
	  "Write the whole raw volume of a shadow copy: with IMAGE..., a VSS shadow copy\n"
	  "inside those volume or disk images, as it was when it was taken (the view\n"
	  "Windows shows); without, a volume captured into the repository (--repo DIR,\n"
	  "$SHADOWREV_REPO or the default one). To FILE, sparse where the volume is\n"
	  "zero, or to standard output with '-'. SHADOW-ID is any name of a volume, disk or\n"
	  "shadow copy ('shadowrev help': SET:C:vss2, vss2, an ID or a unique prefix...).\n"
	  "FILE is written under a temporary\n"
	  "name and renamed when complete; an existing FILE is replaced only with --force.\n"
	  "\n"
	  "  --to FILE|-     where to write (required)\n"
	  "  --force         replace an existing FILE\n"
	  "  --repo DIR      the repository (when no IMAGE is given)\n"
	  "  --passphrase-file FILE  passphrase of an encrypted repository\n"
	  "  --json          print a summary as JSON\n"
	  "  --progress=auto|none|json, --quiet\n" },
	{ "revert", cmd_revert, "put volumes back to a shadow copy, in place",
	  "usage: shadowrev revert SHADOW-ID IMAGE... [--offline] [--yes] [--dry-run] [--journal DIR] [--json]\n"
	  "       shadowrev revert --set SET-ID IMAGE... [--offline] [...]\n"
	  "       shadowrev revert SHADOW-ID --to [NAME=]PATH [--repo DIR] [--all-blocks] [...]\n"
	  "       shadowrev revert --set SET-ID --to C:=PATH [--to D:=PATH]... [--repo DIR] [...]\n"
	  "       shadowrev revert --discard-journal IMAGE... [--journal DIR]\n"
	  "\n"
	  "Put a volume back, in place and offline, to a shadow copy: only what differs\n"
	  "is written, everything is read first and staged in a journal (beside the first\n"
	  "target, or in DIR) before the first write, and every written range is read\n"
	  "back. After a crash, the same command finishes the job; until then other\n"
	  "reverts of that target are refused, and export, mount and restore refuse to\n"
	  "read it (list warns). The journal of a block device lives in\n"
	  "$SHADOWREV_JOURNAL_DIR, else /var/lib/shadowrev/journal (made 0700; refused\n"
	  "when a symlink or writable by others). A journal records which volume it is\n"
	  "for (file: device and inode; both: size, NTFS serial and size, and the bytes\n"
	  "each write replaces): it is never replayed onto another volume that has taken\n"
	  "the target's name (exit 1, nothing written). --discard-journal removes the\n"
	  "journal of IMAGE and writes nothing: the volume stays as it is.\n"
	  "\n"
	  "With IMAGE...: a VSS shadow copy inside those volume or disk images. The blocks\n"
	  "the shadow copies hold are rewritten with its view, then it and every newer one\n"
	  "are dropped from the VSS catalog; older ones stay readable. --set reverts every\n"
	  "volume of a snapshot set, each before the volume that holds its shadow storage\n"
	  "(give both images; a cycle is fine: all reads come before any write).\n"
	  "With --to: a volume captured in the repository, written onto PATH (NAME is the\n"
	  "drive letter or volume name, needed with --set): per chunk, the target is hashed\n"
	  "and only chunks that differ are fetched and written, on the clusters in use in\n"
	  "the captured volume and in its shadow copies; --all-blocks writes the rest too.\n"
	  "\n"
	  "Refused: targets mounted, attached to a loop device, held by device-mapper or\n"
	  "open in another process; a system volume (\\Windows\\System32) unless --offline\n"
	  "says its instance is stopped (then its boot structures are checked: exit 3 if\n"
	  "it would not boot); with --set it is skipped with that message.\n"
	  "\n"
	  "  --dry-run       print the plan (volumes in order, blocks and bytes to write)\n"
	  "  --yes, -y       do not ask for confirmation (required when not on a terminal)\n"
	  "  --offline       the instance is stopped: the system volume may be reverted\n"
	  "  --journal DIR   keep the journal in DIR\n"
	  "  --discard-journal  remove an interrupted revert's journal, write nothing\n"
	  "  --quiet         print nothing but errors\n"
	  "  --repo DIR, --passphrase-file FILE   the repository, for --to\n"
	  "  --json          the plan or the result as JSON\n" },
	{ "init", cmd_init, "create a backup repository",
	  "usage: shadowrev init [--repo DIR] [--encrypt [--passphrase-file FILE]]\n"
	  "\n"
	  "Create an empty repository in DIR (made if missing, must be empty). Without\n"
	  "--repo: $SHADOWREV_REPO, else /var/lib/shadowrev/repo as root, else\n"
	  "$XDG_DATA_HOME/shadowrev/repo. With --encrypt, chunks and manifests are\n"
	  "encrypted (AES-256-GCM) under a master key wrapped with the passphrase\n"
	  "(scrypt); the passphrase comes from --passphrase-file, $SHADOWREV_PASSPHRASE,\n"
	  "$SHADOWREV_PASSPHRASE_FILE or a prompt, never from the command line.\n"
	  "\n"
	  "  --chunk-size N  chunk size, a power of two from 64K to 16M (default 1M)\n"
	  "  --level N       zstd level, 1..19 (default 2)\n"
	  "  --json, --quiet\n" },
	{ "capture", cmd_capture, "capture volumes and disks into the repository",
	  "usage: shadowrev capture [--repo DIR] --instance NAME [--set-id ID] [--metadata FILE]...\n"
	  "                         [--all-blocks] [--changed-blocks [VOL=]FILE]... VOLSPEC...\n"
	  "\n"
	  "Capture volumes into one new snapshot set. VOLSPEC is C:=PATH[,system][,boot]\n"
	  "[,shadow=ID] for a volume (image file or block device), or disk0=PATH[,C:=p2]\n"
	  "[,system=p1][,boot=p2] for a whole disk (MBR or GPT: the partition table and\n"
	  "gaps are kept, every partition is captured as a volume). Of NTFS volumes only\n"
	  "the clusters $Bitmap marks in use are read, plus $Boot and the last sectors.\n"
	  "A capture of an instance that has an earlier set stores only changed chunks;\n"
	  "a chunk whose pieces repeat data stored earlier in the same capture (a copied\n"
	  "file at another offset) is stored as references to it (piece dedup).\n"
	  "Shadow and set IDs come from --set-id, shadow=ID and the metadata documents\n"
	  "(BCD, diskshadow Manifest.xml), else new ones are made.\n"
	  "\n"
	  "  --instance NAME       the machine or instance the set belongs to (required)\n"
	  "  --set-id ID           the snapshot set ID\n"
	  "  --metadata FILE       attach a document (BCD, writer metadata); repeatable\n"
	  "  --consistency LEVEL   crash, filesystem or application\n"
	  "  --all-blocks          read every block, allocated or not\n"
	  "  --no-piece-dedup      store every new chunk whole\n"
	  "  --changed-blocks [VOL=]FILE  only these ranges changed since the last set:\n"
	  "                        \"OFFSET LENGTH\" per line, in bytes\n"
	  "  --threads N           worker threads (default: cores + 1)\n"
	  "  --passphrase-file FILE, --json, --quiet, --progress=auto|none|json\n" },
	{ "sets", cmd_sets, "list the snapshot sets in the repository",
	  "usage: shadowrev sets [--repo DIR] [--passphrase-file FILE] [--json]\n"
	  "\n"
	  "List every committed snapshot set, oldest first, with its volumes.\n" },
	{ "verify", cmd_verify, "re-read and check the chunks of the repository",
	  "usage: shadowrev verify [--repo DIR] [--passphrase-file FILE] [SET-ID] [--json]\n"
	  "\n"
	  "Re-read, decode and re-hash every chunk of every set (or of one set), and\n"
	  "name every set, volume and byte range a bad chunk touches. Exit 1 if any.\n" },
	{ "gc", cmd_gc, "remove chunks no set references",
	  "usage: shadowrev gc [--repo DIR] [--passphrase-file FILE] [--json]\n"
	  "\n"
	  "Remove chunks that no committed set references and that no running capture\n"
	  "marked; safe while captures run.\n" },
	{ "delete", cmd_delete, "delete a snapshot set from the repository",
	  "usage: shadowrev delete set SET-ID [--repo DIR] [--passphrase-file FILE]\n"
	  "\n"
	  "Remove a set's manifest and indexes; 'shadowrev gc' then frees its chunks.\n" },
	{ "mount", cmd_mount, "mount backups and shadow copies as a read-only file tree",
	  "usage: shadowrev mount [--repo DIR | IMAGE...] MOUNTPOINT [--foreground]\n"
	  "       shadowrev mount --repo DIR NAME MOUNTPOINT (one volume or shadow copy)\n"
	  "\n"
	  "Show a repository's snapshot sets, or the volumes of the images given (volume\n"
	  "images, or whole disks with an MBR or GPT partition table), and every VSS\n"
	  "shadow copy inside them, as a read-only FUSE tree; nothing is restored first and\n"
	  "nothing is ever written. Returns once the mount serves (or stays in the\n"
	  "foreground); 'shadowrev unmount MOUNTPOINT' or SIGTERM unmounts it. With\n"
	  "--json it then prints {mountpoint, pid, source, cache_size}.\n"
	  "\n"
	  "  Repository:  <time>_<set-id>/        one folder per snapshot set (UTC time)\n"
	  "                 diskN.img             whole disks captured with the set\n"
	  "                 <volume>/             C for C:, else its name\n"
	  "  Images:      <image>/ or <image>-pN/   one folder per volume (partition N)\n"
	  "  Per volume:    volume.img            the raw volume\n"
	  "                 files/                its NTFS file tree\n"
	  "                 shadows/vssN/         volume.img and files/ of each shadow copy,\n"
	  "                                       oldest first; shadows/<shadow-id> links to it\n"
	  "  by-shadow-id/<shadow-id>             links to every shadow copy's folder\n"
	  "\n"
	  "In files/: sizes, times (mtime = last write, atime = last access, ctime = MFT\n"
	  "change), hard links (same inode; the low 40 bits are the MFT record number),\n"
	  "sparse and compressed files. Symlinks and junctions are symlinks when their\n"
	  "target is inside the volume, else plain folders/files. Alternate data streams:\n"
	  "FILE:STREAM opens stream STREAM of FILE (not listed; as Windows and ntfs-3g's\n"
	  "streams_interface=windows), and each stream up to 64 KiB is the extended\n"
	  "attribute user.STREAM. ntfs-3g's attributes: system.ntfs_attrib (DOS\n"
	  "attributes, 4 bytes LE), system.ntfs_times and system.ntfs_crtime (FILETIMEs,\n"
	  "LE), system.ntfs_acl (security descriptor), system.ntfs_reparse_data. NTFS\n"
	  "trees are opened on first access; any write gets EROFS.\n"
	  "\n"
	  "A repository's chunks are decoded once and kept in memory (--cache-size); a\n"
	  "volume.img read whole is then read by the kernel from that copy.\n"
	  "\n"
	  "  --repo DIR            the repository (default: $SHADOWREV_REPO, ...)\n"
	  "  --passphrase-file F   passphrase of an encrypted repository\n"
	  "  --foreground, -f      stay in the foreground\n"
	  "  --cache-size N        decoded repository chunks kept in memory, for all\n"
	  "                        volumes (default: a quarter of the memory available\n"
	  "                        at mount time; 0: none kept)\n"
	  "  --threads N           FUSE worker threads (default 8)\n"
	  "  --allow-other         let other users read it (FUSE allow_other)\n"
	  "  --system-files        show $MFT, $Bitmap... in the root of files/\n" },
	{ "unmount", cmd_unmount, "unmount a shadowrev mount",
	  "usage: shadowrev unmount MOUNTPOINT [--lazy]\n"
	  "\n"
	  "Unmount a shadowrev mount and wait for its daemon to exit. A mount whose\n"
	  "daemon died is detached. --lazy detaches a busy mount.\n" },
	{ "expose", cmd_expose, "show a shadow copy under a drive-letter folder",
	  "usage: shadowrev expose SHADOW-ID E: [--root DIR] [--block] [IMAGE... | --repo DIR]\n"
	  "\n"
	  "Mount the files of one shadow copy (of the images given, or captured in the\n"
	  "repository: a captured volume's own ID or a shadow copy inside it) read-only at\n"
	  "ROOT/E (default root /run/shadowrev/drives). With --block, also attach a\n"
	  "read-only loop device to its raw volume and print the device. A letter in use\n"
	  "is refused. Exposures are recorded in the catalog (the repository's, or\n"
	  "ROOT/.shadowrev/catalog.sqlite without one); one whose daemon died is reported\n"
	  "by list exposed and cleaned up by the next expose or unexpose.\n"
	  "\n"
	  "  --root DIR            where the drive-letter folders are\n"
	  "  --block               attach a read-only loop device to volume.img\n"
	  "  --repo DIR, --passphrase-file FILE, --json\n" },
	{ "unexpose", cmd_unexpose, "remove an exposed shadow copy",
	  "usage: shadowrev unexpose E:|SHADOW-ID [--root DIR] [--repo DIR]\n"
	  "       shadowrev unexpose --list [--root DIR] [--repo DIR] [--json]\n"
	  "\n"
	  "Detach its loop device, unmount its drive-letter folder and stop its daemon;\n"
	  "exposures whose daemon died are cleaned up too; the catalog entry goes with it.\n"
	  "--list shows the exposures (alive or dead).\n" },
	{ "restore", cmd_restore, "get files, or a whole server, back from a set or a shadow copy",
	  "usage: shadowrev restore files SOURCE PATH... (--to DIR | --archive FILE|-) [--format tar|pax|zip]\n"
	  "                               [--ntfs-metadata] [--overwrite] [--repo DIR | --image IMAGE...]\n"
	  "       shadowrev restore instance SET-ID (--to DIR | --disk diskN=PATH...) [--consistent\n"
	  "                               [--allow-crash-consistent]]\n"
	  "                               [--format raw|qcow2|vhdx] [--yes] [--repo DIR]\n"
	  "\n"
	  "files: copy files and folders out of one volume, without FUSE. SOURCE is a\n"
	  "shadow copy ID (a volume captured into the repository, a VSS shadow copy inside\n"
	  "one, or with --image a VSS shadow copy inside the images), SET-ID:C: (drive C:\n"
	  "of a set), or 'live' with --image (the volume itself). PATH is a path inside\n"
	  "the volume, '/' or '\\' separated, case-insensitive ('/' for everything); a\n"
	  "folder or file is restored under its own name in DIR or in the archive.\n"
	  "Kept: contents, mtime, atime, creation time (birthtime in pax, and the xattr\n"
	  "system.ntfs_crtime), hard links, sparse files (holes on disk and in pax),\n"
	  "symlinks and junctions whose target is inside the volume (others are never\n"
	  "followed). With --ntfs-metadata, as extended attributes named as ntfs-3g names\n"
	  "them: user.STREAM (alternate data streams), system.ntfs_attrib (DOS\n"
	  "attributes), system.ntfs_acl (security descriptor), system.ntfs_reparse_data.\n"
	  "In a folder, system.* becomes trusted.* as root (user.* otherwise). Names that\n"
	  "could leave DIR (separators, '.', '..', control characters) are refused and\n"
	  "reported; names that collide on a case-insensitive target are reported.\n"
	  "Existing files are kept unless --overwrite. A file that cannot be read is\n"
	  "reported and skipped (in a stream archive: padded with zeros and reported);\n"
	  "the command then ends with exit 3.\n"
	  "\n"
	  "instance: rebuild every disk of a captured set: the partition table (MBR or\n"
	  "GPT with its backup) at the original sectors, each volume at its partition's\n"
	  "offset, unallocated space as holes, into DIR/diskN.img (bare volumes:\n"
	  "DIR/C.img or DIR/<name>.img), or onto PATH (an existing image or a block\n"
	  "device not in use, with --yes). --consistent writes, for each volume with VSS\n"
	  "shadow copies inside, the shadow copy the set names, else the newest one\n"
	  "created at or before the set's time (printed), instead of the volume as\n"
	  "captured; every volume at the same VSS snapshot set where one covers them all.\n"
	  "A volume that cannot reach its application-consistent point is an error (exit\n"
	  "1), or with --allow-crash-consistent is written as captured and reported (exit\n"
	  "3). Then the boot check runs on each disk ('shadowrev boot check').\n"
	  "\n"
	  "  --to DIR              the folder to restore into\n"
	  "  --archive FILE|-      files: write a tar (default), pax or zip archive\n"
	  "  --format F            files: tar, pax or zip; instance: raw, qcow2 or vhdx\n"
	  "                        (qcow2 and vhdx through qemu-img)\n"
	  "  --ntfs-metadata       files: streams, DOS attributes, ACLs as xattrs\n"
	  "  --overwrite           files: replace existing files\n"
	  "  --image IMAGE         files: read images instead of the repository\n"
	  "  --disk diskN=PATH     instance: where disk N goes\n"
	  "  --consistent          instance: the volumes' shadow copies (see above)\n"
	  "  --allow-crash-consistent  instance: write a volume without one as captured\n"
	  "  --yes, -y             instance: write over an existing image or a device\n"
	  "  --threads N           instance: copy threads (default: cores + 1)\n"
	  "  --no-boot-check       instance: skip the boot check\n"
	  "  --repo DIR, --passphrase-file FILE, --json, --quiet, --progress=auto|none|json\n" },
	{ "boot", cmd_boot, "will a disk boot; fix what depends on where volumes sit",
	  "usage: shadowrev boot check TARGET [--json]\n"
	  "       shadowrev boot fix TARGET [--dry-run] [--yes] [--json]\n"
	  "\n"
	  "TARGET is a disk image or block device (MBR or GPT), or an NTFS volume image.\n"
	  "check says, in plain words, what would stop the Windows instance on it from\n"
	  "booting: the NTFS boot sectors (hidden sectors against the partition's start,\n"
	  "geometry, total sectors, the backup boot sector), the EFI system partition\n"
	  "(\\EFI\\Microsoft\\Boot\\bootmgfw.efi and BCD) on GPT disks, the active\n"
	  "partition with bootmgr and \\Boot\\BCD and the MBR boot code on MBR disks, and\n"
	  "\\Windows\\System32 with winload on the system volume. Exit 0: nothing found\n"
	  "that would stop it; 3: it will not boot as it is.\n"
	  "fix rewrites what depends on where a volume sits: the hidden-sectors field,\n"
	  "a missing or stale backup boot sector, the MBR active flag; then checks again.\n"
	  "The target must not be mounted or in use.\n"
	  "\n"
	  "  --dry-run       say what fix would write\n"
	  "  --yes, -y       write (fix refuses without it)\n"
	  "  --json          the report as JSON\n" },
	{ "help", cmd_help, "show help for shadowrev or for one verb",
	  "usage: shadowrev help [VERB]\n" },
	{ "version", cmd_version, "show the version", "usage: shadowrev version\n" },
};

static void usage(FILE *f)
{
	fputs("usage: shadowrev VERB [OPTIONS] [ARGS]\n"
	      "\n"
	      "Recover Windows servers' backups and the VSS shadow copies inside them, on Linux.\n"
	      "\n"
	      "Verbs:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fputs("\n"
	      "Options every verb takes: --json (data for scripts), --quiet, --verbose,\n"
	      "--progress=auto|none|json, --help.\n"
	      "\n"
	      "Names of sets, volumes and shadow copies (every verb that takes one):\n"
	      "  ID or a unique prefix (4+ hex digits)   a set, captured volume or shadow copy\n"
	      "  INSTANCE, INSTANCE@latest               the instance's latest set\n"
	      "  INSTANCE@2026-11-21[T08:30]             its newest set at or before then (UTC)\n"
	      "  SET:C:, SET:disk0, SET:disk0:p2         a volume, a disk, a partition of a set\n"
	      "  SET:C:vss2                              2nd shadow copy inside it, oldest first\n"
	      "  vss2, IMAGE:vss2                        the same among the images given\n"
	      "Ambiguous or unknown names exit 2, listing the candidates or with a hint.\n"
	      "\n"
	      "Exit codes: 0 ok, 1 failed, 2 usage error, 3 finished with per-item errors.\n"
	      "See 'shadowrev help VERB' for one verb.\n",
	      f);
}

/* `list exposed` belongs to mount/ (catalog/ may not depend on it); every other `list` to catalog/. */
static int cmd_list_any(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (strcmp(argv[i], "exposed") == 0)
			return cmd_list_exposed(argc, argv);
		break;
	}
	return cmd_list(argc, argv);
}

static int cmd_help(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		cli_help("help");
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_usage("help", "too many arguments");
	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!cli_verb_find(argv[1]))
		return cli_usage(NULL, "no verb '%s'", argv[1]);
	cli_help(argv[1]);
	return EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		cli_help("version");
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage("version", "too many arguments");
	printf("shadowrev %s\n", SR_VERSION);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct cli_verb *v;

	/* before anything can fork or exec: the secret leaves the environment (and /proc/PID/environ) */
	crypto_passphrase_env_take();
	cli_verbs = verbs;
	cli_n_verbs = ARRAY_SIZE(verbs);
	if (argc < 2)
		return cli_usage(NULL, "no verb given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	v = cli_verb_find(argv[1]);
	if (!v)
		return cli_usage(NULL, "'%s' is not a verb", argv[1]);
	return v->fn(argc - 1, argv + 1);
}
