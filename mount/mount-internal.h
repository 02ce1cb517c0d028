/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SR_MOUNT_INTERNAL_H
#define SR_MOUNT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/guid.h"
#include "core/ntfsfs.h"
#include "core/src.h"

/*
 * The tree a shadowrev FUSE mount shows. Virtual nodes (folders, volume
 * images, links) are built when the mount starts or, for repository
 * volumes, on first access (a populate callback). NTFS nodes are made on
 * lookup and freed when the kernel forgets them.
 *
 * Locking: mnt_tree.lock guards the node table, lookup counts and lazy
 * populates; each mnt_vol has its own lock that serializes libntfs-3g and
 * its lazy opens (volumes are independent of each other).
 */

struct mnt_vol;
struct mnt_node;

/* Opens a volume's source on first use (repository volumes); NULL when the source is given. */
struct repo_keep;
typedef int (*mnt_src_open_fn)(struct mnt_vol *v, struct src **ret);
/* Fills a virtual folder on first access. */
struct mnt_tree;
typedef int (*mnt_populate_fn)(struct mnt_tree *t, struct mnt_node *dir);

struct mnt_vol {
	char *label; /* for messages */
	pthread_mutex_t lock;
	struct src *src; /* NULL until opened */
	uint64_t size;   /* known before the source is opened */
	mnt_src_open_fn open_src;
	void *open_data;
	int src_err;
	struct ntfsfs *fs;
	int fs_err; /* < 0: opening its NTFS tree failed (not retried) */
	char drive;
	uint32_t id; /* high bits of st_ino for its files */
	uint64_t created; /* FILETIME for virtual nodes about it, 0 if unknown */
	struct mnt_node *files; /* its files/ node (the NTFS root), if any */
	/*
	 * Kernel passthrough of volume.img (fs.c): 0 not tried yet, > 0 the
	 * backing file's id, < 0 not possible (-errno).
	 */
	int backing_id;
	/* a repository volume's decoded chunks are kept here (core/repo-src.c), NULL if not */
	const struct repo_keep *keep;
	struct mnt_vol *next;
};

enum mnt_kind {
	MNT_DIR,  /* virtual folder */
	MNT_IMG,  /* the raw bytes of a volume (volume.img) */
	MNT_LINK, /* virtual symlink */
	MNT_NTFS, /* a file, folder or stream inside an NTFS tree */
};

struct mnt_node {
	enum mnt_kind kind;
	bool is_static;   /* part of the virtual tree: never freed before unmount */
	uint64_t nlookup; /* kernel references (dynamic nodes) */
	uint64_t ino;     /* st_ino */
	uint64_t time;    /* FILETIME shown for virtual nodes */
	struct mnt_node *hnext;

	/* MNT_DIR */
	char *name;
	struct mnt_node *parent;
	struct mnt_node **kids;
	size_t n_kids, cap_kids;
	mnt_populate_fn populate;
	void *pdata;
	bool populated;
	int populate_err;

	/* MNT_LINK */
	char *link;

	/* MNT_IMG, MNT_NTFS */
	struct mnt_vol *vol;
	uint64_t mref;  /* MNT_NTFS: the file's inode on the volume */
	char *stream;   /* MNT_NTFS: a named data stream ("file:stream"), or NULL */
};

struct mnt_tree {
	pthread_mutex_t lock;
	struct mnt_node *root;
	struct mnt_vol *vols;
	uint32_t next_vol_id;
	uint64_t next_ino;
	/* dynamic NTFS nodes by (vol, mref, stream) */
	struct mnt_node **buckets;
	size_t n_buckets, n_nodes;
	uint64_t mount_time; /* FILETIME */
	uid_t uid;
	gid_t gid;
	bool list_system; /* show $MFT & co. in NTFS roots */
	/* what the builder keeps alive (volset, repository, manifests) */
	void *owner;
	void (*owner_free)(void *owner);
};

/* tree.c */
int mnt_tree_new(struct mnt_tree **ret);
void mnt_tree_free(struct mnt_tree *t);
struct mnt_node *mnt_dir_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, uint64_t time);
struct mnt_node *mnt_img_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, struct mnt_vol *v);
struct mnt_node *mnt_link_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, const char *target);
/* files/: the NTFS root of v */
struct mnt_node *mnt_files_new(struct mnt_tree *t, struct mnt_node *parent, const char *name, struct mnt_vol *v);
/* A volume: src given (a reference is taken) or opened later by open_src(v). */
struct mnt_vol *mnt_vol_new(struct mnt_tree *t, const char *label, struct src *src, uint64_t size);
/* A unique child name under dir: base, base-2, base-3... into buf. */
void mnt_unique_name(struct mnt_node *dir, const char *base, char *buf, size_t size);
/* Make a string usable as one file name ('/' and control characters replaced). */
void mnt_sanitize_name(const char *in, char *out, size_t size);
/*
 * NTFS names as the mount shows them: '/' and the dots of "." and ".." as %2F
 * and %2E, a '%' before two hex digits as %25 (tree.c). escape: -EINVAL for an
 * empty name, -ENAMETOOLONG if out is too small. unescape: -ENOENT for a name
 * that escaping never makes (so each entry has exactly one name).
 */
#define MNT_NAME_MAX 1024 /* bytes of a UTF-8 name from core/ntfsfs */
int mnt_name_escape(const char *in, char *out, size_t size);
int mnt_name_unescape(const char *in, char *out, size_t size);
struct mnt_node *mnt_child_find(struct mnt_node *dir, const char *name);
/* Populate dir if it has a populate callback and has not been populated (t->lock held). */
int mnt_dir_populate(struct mnt_tree *t, struct mnt_node *dir);
/* Open v's source and NTFS tree if needed (v->lock held). */
int mnt_vol_src(struct mnt_vol *v, struct src **ret);
int mnt_vol_fs(struct mnt_vol *v, struct ntfsfs **ret);

/* build.c: the layouts */
/* One folder per volume of the images, with volume.img, files/, shadows/; by-shadow-id/. */
int mnt_build_images(struct mnt_tree *t, char *const *images, size_t n);
/* One folder per snapshot set of the repository, the same per volume. */
/* Decoded repository chunks kept when no --cache-size is given (a quarter of the memory available). */
uint64_t mnt_default_cache(void);
int mnt_build_repo(struct mnt_tree *t, const char *repo_dir, const char *passphrase_file, uint64_t cache_size);
/*
 * expose: the root holds volume.img and files/ of one shadow copy (of images, or captured in a repository).
 * *ret_shadow_id: its whole ID; *ret_set_id: its snapshot set (the VSS store's, or the captured set's).
 */
int mnt_build_shadow(struct mnt_tree *t, const char *shadow_id, char *const *images, size_t n, const char *repo_dir,
		     const char *passphrase_file, struct sr_guid *ret_shadow_id, struct sr_guid *ret_set_id);

/* fs.c: the FUSE file system */
struct mnt_options {
	bool foreground;
	bool allow_other;
	uint64_t cache_size; /* bytes of decoded chunks to keep (repository sources) */
	unsigned threads;
	int ready_fd; /* write one byte here once serving (-1: none) */
};
/* Mount t at mountpoint and serve until unmounted or SIGTERM/SIGINT. Returns 0 or -errno. */
int mnt_serve(struct mnt_tree *t, const char *mountpoint, const struct mnt_options *o);

/* daemon.c */
/*
 * Run fn(arg) in a daemon child: the parent returns once the child reported
 * readiness (0) or failure (the child's exit code). In the child, *ret_ready_fd
 * is the pipe to report on. foreground: no fork, ready_fd = -1.
 */
int mnt_daemonize(bool foreground, int *ret_ready_fd, int *ret_parent_exit);
void mnt_ready(int fd, int status);

/* Is path a shadowrev FUSE mount? 1 yes (alive), 2 yes but its daemon died, 0 no, <0 error. */
int mnt_probe(const char *path, pid_t *ret_pid);
/* Unmount path (lazily if its daemon died) and wait for the daemon to exit. */
int mnt_unmount_path(const char *path, bool lazy);
/* Does process pid exist (and is it not a zombie)? */
bool mnt_pid_alive(pid_t pid);


#define MNT_XATTR_PID "user.shadowrev.pid"
#define MNT_FSNAME "shadowrev"

#endif
