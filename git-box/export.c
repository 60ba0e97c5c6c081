#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catfile.h"
#include "child.h"
#include "manifest.h"
#include "policy.h"
#include "tsa.h"
#include "banned.h"

#define POLICY_PATH ".box/policy.yaml"
#define POLICY_MAX (1 << 20)
#define TSA_CHAIN_MAX (16 << 20)
#define CHUNK (128 * 1024)
/* Requests sent to git cat-file ahead of the file being written, over all readers. */
#define AHEAD 32
/* git cat-file processes reading the payload, when there is more than one core. */
#define READERS 2

char *export_bag_name(const char *box_name, const git_oid *commit)
{
	struct buf out = BUF_INIT;
	const unsigned char *p = (const unsigned char *)(box_name ? box_name : "");
	char hex[GIT_OID_HEXSZ + 1];

	for (; *p; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;   /* the rest of a character already turned into '-' */
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '_' || *p == '-') {
			if (!out.len && (*p == '.' || *p == '-'))
				continue;
			buf_addch(&out, (char)*p);
		} else if (out.len) {
			buf_addch(&out, '-');
		}
	}
	if (!out.len)
		buf_adds(&out, "box");
	git_oid_tostr(hex, sizeof(hex), commit);
	buf_addf(&out, "-%.12s", hex);
	return buf_detach(&out);
}

const char *export_suffix(enum bag_compression c)
{
	switch (c) {
	case BAG_COMPRESS_GZIP: return ".tar.gz";
	case BAG_COMPRESS_ZSTD: return ".tar.zst";
	case BAG_COMPRESS_NONE: break;
	}
	return ".tar";
}

/* ---- the payload: every file of the tree ---------------------------------- */

struct export_file {
	char *path;
	git_oid id;
	int executable;
};

struct export_files {
	struct export_file *items;      /* in the tree's order, which is byte order of path */
	size_t nr, alloc;
};

static void export_files_release(struct export_files *f)
{
	for (size_t i = 0; i < f->nr; i++)
		free(f->items[i].path);
	free(f->items);
	f->items = NULL;
	f->nr = f->alloc = 0;
}

struct walk {
	struct export_files *files;
	const char *bag_name;
	int refused;
};

static int walk_entry(const char *root, const git_tree_entry *entry, void *data)
{
	struct walk *w = data;
	git_filemode_t mode = git_tree_entry_filemode(entry);
	struct export_file *f;
	char *path;

	/* A submodule has no file: its commit is in the manifest and the bundle. */
	if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT)
		return 0;
	path = xstrfmt("%s%s", root, git_tree_entry_name(entry));
	if (bag_payload_path_check(w->bag_name, path) < 0) {
		free(path);
		w->refused = 1;
		return -1;
	}
	if (w->files->nr == w->files->alloc) {
		w->files->alloc = w->files->alloc ? 2 * w->files->alloc : 64;
		w->files->items = xrealloc(w->files->items, w->files->alloc * sizeof(*w->files->items));
	}
	f = &w->files->items[w->files->nr++];
	f->path = path;
	git_oid_cpy(&f->id, git_tree_entry_id(entry));
	f->executable = mode == GIT_FILEMODE_BLOB_EXECUTABLE;
	return 0;
}

static int list_files(struct export_files *out, git_tree *tree, const char *bag_name)
{
	struct walk w = { out, bag_name, 0 };

	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_entry, &w) < 0) {
		if (!w.refused)
			box_error_from_git("cannot list the files of tree %s", git_oid_tostr_s(git_tree_id(tree)));
		else
			box_error_wrap("cannot export tree %s", git_oid_tostr_s(git_tree_id(tree)));
		export_files_release(out);
		return w.refused ? BOX_EREFUSED : -1;
	}
	return 0;
}

/*
 * Stream every file of the tree into the bag, and record in `known` the
 * size and SHA-256 of each blob as the bag writer hashed it. Inflating
 * git's objects is the slow part with many small files, so with more
 * than one core two `git cat-file` readers take turns, file by file:
 * one inflates the next file while the other's is being written. The
 * files still go into the bag one at a time, in order.
 */
static int write_payload(struct export_result *r, struct hash_known *known, struct bag_writer *w,
			 git_repository *repo, const struct export_files *files,
			 const struct export_options *o)
{
	struct catfile *cf[READERS] = { NULL };
	size_t readers = files->nr > 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1 ? READERS : 1;
	char *chunk = NULL;
	size_t requested = 0;
	int ret = -1;

	for (size_t k = 0; k < readers; k++)
		if (catfile_open(&cf[k], repo) < 0)
			goto out;
	chunk = xmalloc(CHUNK);
	for (size_t i = 0; i < files->nr; i++) {
		const struct export_file *f = &files->items[i];
		struct catfile *reader = cf[i % readers];
		unsigned char sha256[SHA256_LEN];
		uint64_t size;
		ssize_t n;

		if (signals_caught())
			goto out;
		for (; requested < files->nr && requested < i + AHEAD; requested++)
			if (catfile_request(cf[requested % readers], &files->items[requested].id) < 0)
				goto out;
		if (catfile_header(reader, &f->id, &size) < 0) {
			box_error_wrap("cannot read '%s'", f->path);
			goto out;
		}
		if (bag_writer_add_payload(w, f->path, size, f->executable) < 0)
			goto out;
		while ((n = catfile_read(reader, chunk, CHUNK)) > 0) {
			if (signals_caught() || bag_writer_write(w, chunk, (size_t)n) < 0)
				goto out;
			r->payload_bytes += (uint64_t)n;
			if (o->progress)
				o->progress(o->progress_data, r->payload_files, r->payload_bytes);
		}
		if (n < 0 || bag_writer_end_file(w, sha256) < 0)
			goto out;
		hash_known_add(known, &f->id, size, sha256);
		r->payload_files++;
		if (o->progress)
			o->progress(o->progress_data, r->payload_files, r->payload_bytes);
	}
	hash_known_sort(known);
	ret = 0;
out:
	free(chunk);
	if (!ret) {
		for (size_t k = 0; k < readers; k++)
			if (catfile_close(cf[k]) < 0)
				ret = -1;
	} else {
		/* git may still be writing: closing its pipes ends it; the first error stands. */
		char *first = xstrdup(box_error_last());

		for (size_t k = 0; k < readers; k++)
			catfile_close(cf[k]);
		box_error_set("%s", first);
		free(first);
	}
	return ret;
}

/* ---- after the payload: verify, beside the tag files ----------------------- */

/*
 * The caller's after_payload (git box verify, for box/verify.json) runs
 * in a thread of its own while the tag files before box/verify.json are
 * written: from then on export_write() makes no libgit2 call until it
 * has joined the thread, so the repository is the callback's alone.
 */
struct after_payload {
	const struct export_options *o;
	const struct hash_known *known;
	pthread_t thread;
	int running;
	int ret;
	char *error;                    /* the callback's box_error (thread-local) */
};

static void run_after_payload(struct after_payload *ap)
{
	ap->ret = ap->o->after_payload(ap->o->after_payload_data, ap->known);
	if (ap->ret < 0)
		ap->error = xstrdup(box_error_last());
}

static void *after_payload_thread(void *data)
{
	run_after_payload(data);
	return NULL;
}

static void after_payload_start(struct after_payload *ap, const struct export_options *o,
				const struct hash_known *known)
{
	ap->o = o;
	ap->known = known;
	if (!o->after_payload)
		return;
	if (!pthread_create(&ap->thread, NULL, after_payload_thread, ap))
		ap->running = 1;
	else
		run_after_payload(ap);  /* no thread to be had: in this one, then */
}

/* Wait for the callback; its return, with its box_error when it failed. */
static int after_payload_finish(struct after_payload *ap)
{
	if (ap->running) {
		pthread_join(ap->thread, NULL);
		ap->running = 0;
	}
	if (ap->ret < 0)
		box_error_set("%s", ap->error ? ap->error : "");
	free(ap->error);
	ap->error = NULL;
	return ap->ret;
}

/* ---- box/repo.bundle -------------------------------------------------------- */

static int collect_tag(const char *name, void *data)
{
	strlist_add(data, name);
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * `git bundle create` of the box branch, refs/notes/box and every
 * refs/tags/box/ tag, packed by one thread so that the same refs give
 * the same bytes, and with small pack windows so that git's memory stays
 * bounded too. Started before the payload is written and finished after,
 * so that git packs while the payload streams.
 */
static int bundle_start(struct child *c, const struct box *b, const char *path)
{
	static const char *const drop[] = { "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE",
					    "GIT_NAMESPACE", NULL };
	struct strlist tags = STRLIST_INIT, args = STRLIST_INIT;
	struct child_options o = { NULL, NULL, NULL, CHILD_NULL, CHILD_NULL, CHILD_INHERIT };
	char *git_dir = xstrfmt("GIT_DIR=%s", git_repository_path(b->repo));
	const char *add[] = { git_dir, NULL };
	char **env = NULL;
	int ret = -1;

	if (git_reference_foreach_glob(b->repo, BOX_TAG_PREFIX "*", collect_tag, &tags) < 0) {
		box_error_from_git("cannot list the timestamp tags");
		goto out;
	}
	if (tags.nr)
		qsort(tags.items, tags.nr, sizeof(*tags.items), compare_strings);

	strlist_add(&args, "git");
	strlist_add(&args, "--no-replace-objects");
	strlist_add(&args, "-c");
	strlist_add(&args, "pack.threads=1");
	strlist_add(&args, "-c");
	strlist_add(&args, "core.packedGitWindowSize=8m");
	strlist_add(&args, "-c");
	strlist_add(&args, "core.packedGitLimit=64m");
	strlist_add(&args, "-c");
	strlist_add(&args, "core.bigFileThreshold=16m");
	strlist_add(&args, "bundle");
	strlist_add(&args, "create");
	strlist_add(&args, "-q");
	strlist_add(&args, path);
	strlist_add(&args, b->branch_ref);
	strlist_add(&args, BOX_NOTES_REF);
	for (size_t i = 0; i < tags.nr; i++)
		strlist_add(&args, tags.items[i]);
	strlist_add_nodup(&args, NULL);
	o.argv = (const char *const *)args.items;
	env = child_env(drop, add);
	o.env = env;
	if (child_start(c, &o) < 0)
		goto out;
	ret = 0;
out:
	child_env_free(env);
	free(git_dir);
	strlist_release(&tags);
	strlist_release(&args);
	return ret;
}

/*
 * Wait for git bundle create; `failed` when the export failed already
 * (git is not killed: its pack-objects child would go on writing
 * alone; it ends by itself, in the time it takes to pack the box).
 */
static int bundle_finish(struct child *c, int failed)
{
	int status;

	if (c->pid <= 0)
		return 0;
	if (child_finish(c, &status) < 0) {
		c->pid = -1;
		box_error_set("cannot wait for git bundle create: %s", strerror(errno));
		return -1;
	}
	c->pid = -1;
	if (!failed && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		if (WIFEXITED(status))
			box_error_set("git bundle create failed (exit code %d)", WEXITSTATUS(status));
		else
			box_error_set("git bundle create was killed by signal %d", WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* ---- box/manifest.tsr --------------------------------------------------------- */

static int read_timestamp(struct tsa_tag *out, git_repository *repo, const char *tag_name,
			  const char *payload_hex)
{
	git_object *obj = NULL;
	char *ref = xstrfmt("refs/tags/%s", tag_name);
	const char *message;
	int ret = -1;

	if (git_revparse_single(&obj, repo, ref) < 0) {
		box_error_from_git("cannot read the timestamp tag '%s'", tag_name);
		goto out;
	}
	if (git_object_type(obj) != GIT_OBJECT_TAG) {
		box_error_set("the timestamp tag '%s' is not an annotated tag", tag_name);
		ret = BOX_EREFUSED;
		goto out;
	}
	message = git_tag_message((git_tag *)obj);
	if (tsa_tag_parse(out, message ? message : "", message ? strlen(message) : 0) < 0) {
		box_error_wrap("the timestamp tag '%s' cannot be read", tag_name);
		ret = BOX_EREFUSED;
		goto out;
	}
	if (strcmp(out->payload_sha256, payload_hex)) {
		box_error_set("the timestamp tag '%s' stamps the payload %s, not the manifest's %s",
			      tag_name, out->payload_sha256, payload_hex);
		ret = BOX_EREFUSED;
		goto out;
	}
	ret = 0;
out:
	git_object_free(obj);
	free(ref);
	return ret;
}

/* ---- box/README.txt ------------------------------------------------------------- */

static void make_readme(struct buf *out, const struct export_result *r, const char *box_name,
			const git_oid *commit, const struct box *b, const struct export_options *o)
{
	const char *name = r->bag_name;
	const char *id = git_oid_tostr_s(commit);
	char box_id[GIT_OID_HEXSZ + 1];

	git_oid_tostr(box_id, sizeof(box_id), &b->id);
	buf_addf(out, "This is the audit bundle of the git box '%s' at commit\n%s, its %s event.\n\n",
		 box_name, id, r->event);
	buf_adds(out,
		 "It is a BagIt 1.0 bag (RFC 8493) written by git box " GIT_BOX_VERSION ".\n"
		 "The bag only proves that the bundle is whole; what the data is, who\n"
		 "signed it and when, is proved by the files of box/.\n\n"
		 "WHAT IT HOLDS\n\n");
	buf_addf(out, "  data/                    every file tracked at %.12s, as git stores it\n", id);
	buf_adds(out, "  box/README.txt           this file\n"
		 "  box/manifest.json        the manifest of that commit, signed and timestamped\n");
	if (r->signatures)
		buf_adds(out, "  box/manifest.json.asc    its OpenPGP signatures\n");
	if (r->timestamp_tag)
		buf_addf(out, "  box/manifest.tsr         its RFC 3161 timestamp (DER), from the tag %s\n",
			 r->timestamp_tag);
	buf_addf(out, "  box/repo.bundle          the box's history: %s, refs/notes/box\n"
		 "                           and the box/* tags, as a git bundle\n", b->branch_ref);
	if (r->tsa_chain)
		buf_adds(out, "  box/tsa-chain.pem        the TSA certificates the box names (a convenience:\n"
			 "                           trust only anchors you obtained yourself)\n");
	if (o->verify_json)
		buf_adds(out, "  box/verify.json          what 'git box verify --self-check' found at\n"
			 "                           export: the box against its own roots\n");
	buf_adds(out, "  bagit.txt, bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt\n"
		 "                           BagIt's own files\n\n");
	buf_addf(out, "The box's id (bag-info.txt's External-Identifier) is its init commit,\n%s.\n\n",
		 box_id);

	buf_adds(out, "CHECKING BY HAND\n\n"
		 "With tar, sha256sum, git, gpg and openssl only:\n\n");
	buf_addf(out, "  tar -xf %s.tar     # or tar -xzf %s.tar.gz,\n", name, name);
	buf_addf(out, "                                     # or tar --zstd -xf %s.tar.zst\n", name);
	buf_addf(out, "  cd %s\n\n", name);
	buf_adds(out, "  sha256sum -c tagmanifest-sha256.txt     # the tag files are whole\n"
		 "  sha256sum -c manifest-sha256.txt        # the payload is whole\n"
		 "  grep Payload-Oxum bag-info.txt          # and nothing was added:\n"
		 "  find data -type f | wc -l               #   as many files,\n"
		 "  find data -type f -exec cat {} + | wc -c   #   as many bytes\n\n");
	if (r->signatures)
		buf_adds(out, "  gpg --verify box/manifest.json.asc box/manifest.json\n");
	if (r->timestamp_tag)
		buf_addf(out, "  openssl ts -verify -data box/manifest.json -in box/manifest.tsr \\\n"
			 "      -CAfile your-tsa-anchors.pem%s\n",
			 r->tsa_chain ? " -untrusted box/tsa-chain.pem" : "");
	if (r->signatures || r->timestamp_tag)
		buf_addch(out, '\n');
	buf_adds(out, "  git init -q --bare repo && cd repo\n"
		 "  git bundle verify ../box/repo.bundle     # \"records a complete history\"\n"
		 "  git fetch -q ../box/repo.bundle 'refs/*:refs/*'\n");
	buf_addf(out, "  git notes --ref=box show %s \\\n"
		 "      | sed '/^-----BEGIN PGP SIGNATURE-----$/,$d' \\\n"
		 "      | cmp - ../box/manifest.json         # the signed manifest is the note\n", id);
	buf_addf(out, "  mkdir ../tree && git archive %s | tar -x -C ../tree\n", id);
	buf_adds(out, "  diff -r ../tree ../data                  # data/ is the commit's tree\n\n"
		 "gpg must know the signers' public keys; trust only keys, and TSA\n"
		 "anchors, obtained out of band. A symbolic link of the tree is a\n"
		 "file holding its target in data/, and git archive honours the\n"
		 "export-ignore attribute: compare such paths by their hashes in\n"
		 "box/manifest.json instead. A path with CR, LF or '%' is written\n"
		 "%0D, %0A and %25 in manifest-sha256.txt, which sha256sum does not\n"
		 "know.\n\n"
		 "'git box verify' on this file, with your trust roots, does all of\n"
		 "this and the rest of git box's checks: the hash chain from init, the\n"
		 "policy, the quorum of signers, the timestamp against the commit. See\n"
		 "gitbox-bundle(5).\n");
}

/* ---- the bag ---------------------------------------------------------------------- */

static int add_tag_buf(struct bag_writer *w, const char *path, const void *data, size_t len)
{
	if (bag_writer_add_tag(w, path, len) < 0)
		return -1;
	return bag_writer_write(w, data, len);
}

static int add_tag_file(struct bag_writer *w, const char *path, const char *file)
{
	struct stat st;
	char *chunk = NULL;
	int fd, ret = -1;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		box_error_set("cannot read '%s': %s", file, strerror(errno));
		goto out;
	}
	if (bag_writer_add_tag(w, path, (uint64_t)st.st_size) < 0)
		goto out;
	chunk = xmalloc(CHUNK);
	for (;;) {
		ssize_t n = read(fd, chunk, CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			box_error_set("cannot read '%s': %s", file, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		if (bag_writer_write(w, chunk, (size_t)n) < 0)
			goto out;
	}
	ret = 0;
out:
	free(chunk);
	if (fd >= 0)
		close(fd);
	return ret;
}

int export_write(struct export_result *out, const struct box *b, const git_oid *commit,
		 const char *path, const struct export_options *o)
{
	git_repository *repo = b->repo;
	struct buf payload = BUF_INIT, signatures = BUF_INIT, policy_text = BUF_INIT, chain = BUF_INIT;
	struct buf readme = BUF_INIT, description = BUF_INIT;
	struct manifest m = MANIFEST_INIT;
	struct policy policy = POLICY_INIT;
	struct tsa_tag stamp = TSA_TAG_INIT;
	struct export_files files = { NULL, 0, 0 };
	struct hash_known known = HASH_KNOWN_INIT;
	struct after_payload ap = { NULL, NULL, 0, 0, 0, NULL };
	struct bag_writer_opts wo = BAG_WRITER_OPTS_INIT;
	struct bag_writer *w = NULL;
	struct child git_bundle = CHILD_INIT;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	unsigned char digest[SHA256_LEN];
	char payload_hex[SHA256_HEX_LEN + 1], commit_hex[GIT_OID_HEXSZ + 1], box_hex[GIT_OID_HEXSZ + 1];
	char *tmpdir = NULL, *bundle = NULL, *origin = NULL;
	int found, ret = -1, err;

	git_oid_tostr(commit_hex, sizeof(commit_hex), commit);
	git_oid_tostr(box_hex, sizeof(box_hex), &b->id);

	/* The manifest note: its payload, exactly, and its signatures. */
	found = box_note_read(&payload, &signatures, repo, commit);
	if (found < 0)
		goto out;
	if (found == 1) {
		box_error_set("no manifest on %s: only an event can be exported", commit_hex);
		ret = BOX_EREFUSED;
		goto out;
	}
	if (manifest_parse_header(&m, payload.ptr ? payload.ptr : "", payload.len) < 0) {
		box_error_wrap("the note on %s is not a manifest", commit_hex);
		ret = BOX_EREFUSED;
		goto out;
	}
	if (!git_oid_equal(&m.commit, commit)) {
		box_error_set("the manifest on %s is about another commit, %s", commit_hex,
			      git_oid_tostr_s(&m.commit));
		ret = BOX_EREFUSED;
		goto out;
	}
	out->event = xstrdup(m.event);
	sha256_buffer(digest, payload.ptr, payload.len);
	sha256_hex(payload_hex, digest);

	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		box_error_from_git("cannot read commit %s", commit_hex);
		goto out;
	}

	/* The policy as committed there: the box's name and its TSA anchors. */
	if (repo_read_blob_at(&policy_text, repo, commit, POLICY_PATH, POLICY_MAX) < 0)
		goto out;
	origin = xstrfmt("%s at %.12s", POLICY_PATH, commit_hex);
	if (policy_parse(&policy, origin, policy_text.ptr ? policy_text.ptr : "", policy_text.len) < 0)
		goto out;
	out->bag_name = export_bag_name(policy.name, commit);
	out->file = path ? xstrdup(path) : xstrfmt("%s%s", out->bag_name, export_suffix(o->compression));
	if (policy.tsa_ca) {
		err = repo_commit_has_path(repo, commit, policy.tsa_ca);
		if (err < 0)
			goto out;
		if (!err)
			strlist_add_nodup(&out->warnings,
					  xstrfmt("the policy's timestamp.ca '%s' is not in commit %.12s: "
						  "box/tsa-chain.pem left out", policy.tsa_ca, commit_hex));
		else if (repo_read_blob_at(&chain, repo, commit, policy.tsa_ca, TSA_CHAIN_MAX) < 0)
			goto out;
		else
			out->tsa_chain = 1;
	}

	/* The timestamp tag, which must stamp this very payload. */
	if (tsa_find_tag(&out->timestamp_tag, repo, commit) < 0)
		goto out;
	if (out->timestamp_tag) {
		ret = read_timestamp(&stamp, repo, out->timestamp_tag, payload_hex);
		if (ret < 0)
			goto out;
		if (strcmp(stamp.event, m.event)) {
			box_error_set("the timestamp tag '%s' stamps a %s event, not the %s on %.12s",
				      out->timestamp_tag, stamp.event, m.event, commit_hex);
			ret = BOX_EREFUSED;
			goto out;
		}
		ret = -1;
	}
	out->signatures = signatures.len > 0;

	ret = list_files(&files, tree, out->bag_name);
	if (ret < 0)
		goto out;
	ret = -1;

	/* The history, bundled before the archive starts: box/ files come after data/. */
	tmpdir = make_private_tmpdir("export");
	if (!tmpdir)
		goto out;
	bundle = xstrfmt("%s/repo.bundle", tmpdir);
	if (bundle_start(&git_bundle, b, bundle) < 0)
		goto out;

	make_readme(&readme, out, policy.name, commit, b, o);
	buf_addf(&description, "audit bundle of the box '%s' at %s", policy.name, commit_hex);

	wo.name = out->bag_name;
	wo.time = (int64_t)git_commit_time(c);
	wo.compression = o->compression;
	wo.digest = o->digest;
	if (bag_writer_open(&w, out->file, &wo) < 0 ||
	    bag_writer_add_info(w, "Bag-Software-Agent", "git box " GIT_BOX_VERSION) < 0 ||
	    bag_writer_add_info(w, "External-Identifier", box_hex) < 0 ||
	    bag_writer_add_info(w, "External-Description", description.ptr) < 0 ||
	    bag_writer_add_info(w, "Git-Box-Commit", commit_hex) < 0)
		goto out;
	if (write_payload(out, &known, w, repo, &files, o) < 0)
		goto out;
	export_files_release(&files);   /* before verify builds lists of its own */
	/*
	 * Verify, say, with the digests just computed, beside the other
	 * tag files: no libgit2 call here until after_payload_finish().
	 */
	after_payload_start(&ap, o, &known);
	if (bundle_finish(&git_bundle, 0) < 0)
		goto out;
	if (add_tag_buf(w, "box/README.txt", readme.ptr, readme.len) < 0 ||
	    add_tag_buf(w, "box/manifest.json", payload.ptr, payload.len) < 0 ||
	    (out->signatures && add_tag_buf(w, "box/manifest.json.asc", signatures.ptr, signatures.len) < 0) ||
	    (out->timestamp_tag && add_tag_buf(w, "box/manifest.tsr", stamp.der, stamp.der_len) < 0) ||
	    add_tag_file(w, "box/repo.bundle", bundle) < 0 ||
	    (out->tsa_chain && add_tag_buf(w, "box/tsa-chain.pem", chain.ptr, chain.len) < 0))
		goto out;
	if (after_payload_finish(&ap) < 0)
		goto out;
	if (o->verify_json && add_tag_buf(w, "box/verify.json", o->verify_json->ptr, o->verify_json->len) < 0)
		goto out;
	if (signals_caught() || bag_writer_commit(w) < 0)
		goto out;
	bag_writer_digest(w, &out->bytes, out->sha256);
	ret = 0;
out:
	if (ap.running) {
		/* The first error stands. */
		char *first = xstrdup(box_error_last());

		after_payload_finish(&ap);
		box_error_set("%s", first);
		free(first);
	}
	free(ap.error);
	if (git_bundle.pid > 0) {
		/* The first error stands. */
		char *first = xstrdup(box_error_last());

		bundle_finish(&git_bundle, 1);
		box_error_set("%s", first);
		free(first);
	}
	bag_writer_free(w);
	if (tmpdir) {
		remove_tree(tmpdir);
		free(tmpdir);
	}
	free(bundle);
	free(origin);
	export_files_release(&files);
	hash_known_release(&known);
	tsa_tag_release(&stamp);
	policy_release(&policy);
	manifest_release(&m);
	git_tree_free(tree);
	git_commit_free(c);
	buf_release(&payload);
	buf_release(&signatures);
	buf_release(&policy_text);
	buf_release(&chain);
	buf_release(&readme);
	buf_release(&description);
	return ret;
}

void export_result_release(struct export_result *r)
{
	free(r->file);
	free(r->bag_name);
	free(r->event);
	free(r->timestamp_tag);
	strlist_release(&r->warnings);
	memset(r, 0, sizeof(*r));
}
