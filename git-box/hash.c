#include "hash.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "catfile.h"
#include "banned.h"

#define CACHE_NAME "box/sha256-cache"
#define CACHE_HEADER "# git box sha256 cache v1\n"
#define MAX_THREADS 64
#define BATCH_FILES 128                  /* requests sent to git ahead of reading */
#define BATCH_BYTES (8u << 20)
#define CHUNK (256 * 1024)
#define PROGRESS_STEP (16u << 20)

void sha256_hex(char *out, const unsigned char *digest)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[SHA256_HEX_LEN] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sha256_from_hex(unsigned char *out, const char *hex)
{
	for (int i = 0; i < SHA256_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[SHA256_HEX_LEN] ? -1 : 0;
}

void sha256_buffer(unsigned char *out, const void *data, size_t len)
{
	SHA256(data, len, out);
}

/* ---- listing a tree ------------------------------------------------------- */

struct walk_data {
	struct hash_files *out;
	int failed;
};

static int walk_entry(const char *root, const git_tree_entry *entry, void *payload)
{
	struct walk_data *w = payload;
	git_filemode_t mode = git_tree_entry_filemode(entry);
	struct hash_file *f;

	if (mode == GIT_FILEMODE_TREE)
		return 0;
	if (mode == GIT_FILEMODE_COMMIT) {
		box_error_set("'%s%s' is a submodule; git box cannot vouch for content "
			      "that is not in the repository", root, git_tree_entry_name(entry));
		w->failed = 1;
		return -1;
	}
	if (w->out->nr == w->out->alloc) {
		w->out->alloc = w->out->alloc ? w->out->alloc * 2 : 64;
		w->out->items = xrealloc(w->out->items, w->out->alloc * sizeof(*w->out->items));
	}
	f = &w->out->items[w->out->nr++];
	memset(f, 0, sizeof(*f));
	f->path = xstrfmt("%s%s", root, git_tree_entry_name(entry));
	git_oid_cpy(&f->id, git_tree_entry_id(entry));
	f->mode = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0100755
		: mode == GIT_FILEMODE_LINK ? 0120000 : 0100644;
	return 0;
}

int hash_files_from_tree(struct hash_files *out, git_repository *repo, const git_tree *tree)
{
	struct walk_data w = { out, 0 };

	(void)repo;
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_entry, &w) < 0) {
		if (!w.failed)
			box_error_from_git("cannot list the files of tree %s",
					   git_oid_tostr_s(git_tree_id(tree)));
		hash_files_release(out);
		return w.failed ? BOX_EREFUSED : -1;
	}
	return 0;
}

void hash_files_release(struct hash_files *files)
{
	for (size_t i = 0; i < files->nr; i++)
		free(files->items[i].path);
	free(files->items);
	files->items = NULL;
	files->nr = files->alloc = 0;
}

/* ---- the cache ------------------------------------------------------------ */

struct cache_entry {
	git_oid id;
	uint64_t size;
	unsigned char sha256[SHA256_LEN];
	int used;
};

struct cache {
	struct cache_entry *slots;
	size_t nr, cap;          /* cap is a power of two, at least twice nr */
	size_t loaded;           /* valid records read from the file */
};

static size_t slot_of(const struct cache *c, const git_oid *id)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)h & (c->cap - 1);
}

static struct cache_entry *cache_find(const struct cache *c, const git_oid *id)
{
	if (!c->cap)
		return NULL;
	for (size_t i = slot_of(c, id);; i = (i + 1) & (c->cap - 1)) {
		struct cache_entry *e = &c->slots[i];

		if (!e->used)
			return NULL;
		if (git_oid_equal(&e->id, id))
			return e;
	}
}

static void cache_put(struct cache *c, const git_oid *id, uint64_t size, const unsigned char *sha256)
{
	struct cache_entry *e;

	if (cache_find(c, id))
		return;   /* the first record of an id wins */
	if (2 * (c->nr + 1) > c->cap) {
		struct cache old = *c;

		c->cap = c->cap ? c->cap * 2 : 1024;
		c->slots = xcalloc(c->cap, sizeof(*c->slots));
		c->nr = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slots[i].used)
				cache_put(c, &old.slots[i].id, old.slots[i].size, old.slots[i].sha256);
		free(old.slots);
	}
	for (size_t i = slot_of(c, id);; i = (i + 1) & (c->cap - 1)) {
		e = &c->slots[i];
		if (!e->used)
			break;
	}
	git_oid_cpy(&e->id, id);
	e->size = size;
	memcpy(e->sha256, sha256, SHA256_LEN);
	e->used = 1;
	c->nr++;
}

/*
 * A record's check: FNV-1a (32 bits) of the rest of its line, in hex. It
 * catches a torn or garbled record; it is no defence against someone who
 * writes in .git, which is why verification never reads the cache.
 */
static void record_check(char *out, const char *body, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)body[i];
		h *= 16777619u;
	}
	snprintf(out, 9, "%08x", h);
}

static void format_record(struct buf *out, const git_oid *id, uint64_t size, const unsigned char *sha256)
{
	char hex[SHA256_HEX_LEN + 1], check[9];
	size_t start = out->len;

	sha256_hex(hex, sha256);
	buf_addf(out, "%s %s %" PRIu64, git_oid_tostr_s(id), hex, size);
	record_check(check, out->ptr + start, out->len - start);
	buf_addf(out, " %s\n", check);
}

/* One line "<blob id> <sha256> <size> <check>"; anything else is ignored. */
static void parse_record(struct cache *c, const char *line, size_t len)
{
	const size_t id_end = GIT_OID_HEXSZ, hash_end = id_end + 1 + SHA256_HEX_LEN;
	char body[256], check[9], hex[SHA256_HEX_LEN + 1];
	unsigned char sha256[SHA256_LEN];
	const char *space;
	git_oid id;
	uint64_t size = 0;
	size_t body_len;

	if (len >= sizeof(body) || len < hash_end + 11 || line[id_end] != ' ' || line[hash_end] != ' ')
		return;
	space = memrchr(line, ' ', len);
	body_len = (size_t)(space - line);
	if (body_len <= hash_end || len - body_len != 9)
		return;
	memcpy(body, line, body_len);
	body[body_len] = '\0';
	record_check(check, body, body_len);
	if (memcmp(check, space + 1, 8))
		return;
	memcpy(hex, line + id_end + 1, SHA256_HEX_LEN);
	hex[SHA256_HEX_LEN] = '\0';
	body[id_end] = '\0';
	if (git_oid_fromstr(&id, body) < 0 || sha256_from_hex(sha256, hex) < 0)
		return;
	for (const char *p = body + hash_end + 1; *p; p++) {
		if (*p < '0' || *p > '9' || size > (UINT64_MAX - 9) / 10)
			return;
		size = size * 10 + (uint64_t)(*p - '0');
	}
	cache_put(c, &id, size, sha256);
	c->loaded++;
}

static char *cache_path(git_repository *repo)
{
	return xstrfmt("%s%s", git_repository_commondir(repo), CACHE_NAME);
}

static void cache_load(struct cache *c, git_repository *repo)
{
	char *path = cache_path(repo), *line = NULL;
	size_t alloc = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");

	free(path);
	if (!f)
		return;   /* no cache yet, or unreadable: the same answer, slower */
	while ((n = getline(&line, &alloc, f)) > 0) {
		if (line[n - 1] != '\n')
			break;   /* a torn last line */
		parse_record(c, line, (size_t)n - 1);
	}
	free(line);
	fclose(f);
}

static int cache_save(const struct cache *c, git_repository *repo)
{
	char *path = cache_path(repo), *dir = xstrfmt("%sbox", git_repository_commondir(repo));
	struct buf out = BUF_INIT;
	int ret = -1;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		goto out;
	buf_adds(&out, CACHE_HEADER);
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].used)
			format_record(&out, &c->slots[i].id, c->slots[i].size, c->slots[i].sha256);
	ret = write_file_atomic(path, out.ptr, out.len, 0644);
out:
	buf_release(&out);
	free(dir);
	free(path);
	return ret;
}

/* ---- hashing on every core ------------------------------------------------ */

struct job {
	git_oid id;
	uint64_t size;
	unsigned char sha256[SHA256_LEN];
};

struct engine {
	struct job *jobs;          /* distinct blobs, sorted by id */
	size_t *queue;             /* indexes into jobs of the blobs to hash, largest first */
	size_t queue_nr, next;
	const EVP_MD *sha256;
	pthread_mutex_t lock;
	int failed;
	char error[1024];
	uint64_t files_done, bytes_done, bytes_since;
	hash_progress_fn progress;
	void *progress_data;
};

struct worker {
	struct engine *e;
	struct catfile *cf;
	pthread_t thread;
	int started;
};

static void engine_fail(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	if (!e->failed) {
		e->failed = 1;
		snprintf(e->error, sizeof(e->error), "%s", box_error_last());
	}
	pthread_mutex_unlock(&e->lock);
}

static void engine_progress(struct engine *e, uint64_t files, uint64_t bytes)
{
	pthread_mutex_lock(&e->lock);
	e->files_done += files;
	e->bytes_done += bytes;
	if (e->progress)
		e->progress(e->progress_data, e->files_done, e->bytes_done);
	pthread_mutex_unlock(&e->lock);
}

/* Take the next few blobs off the queue: big ones alone, small ones in a batch. */
static size_t take_batch(struct engine *e, size_t *batch)
{
	size_t n = 0;
	uint64_t bytes = 0;

	pthread_mutex_lock(&e->lock);
	while (!e->failed && e->next < e->queue_nr && n < BATCH_FILES) {
		const struct job *j = &e->jobs[e->queue[e->next]];

		if (n && bytes + j->size > BATCH_BYTES)
			break;
		bytes += j->size;
		batch[n++] = e->queue[e->next++];
	}
	pthread_mutex_unlock(&e->lock);
	return n;
}

static int hash_one(struct worker *w, EVP_MD_CTX *md, unsigned char *chunk, struct job *j)
{
	uint64_t size, unreported = 0;
	unsigned int len;
	ssize_t n;

	if (catfile_header(w->cf, &j->id, &size) < 0)
		return -1;
	if (!EVP_DigestInit_ex(md, w->e->sha256, NULL))
		goto crypto;
	while ((n = catfile_read(w->cf, chunk, CHUNK)) > 0) {
		if (!EVP_DigestUpdate(md, chunk, (size_t)n))
			goto crypto;
		unreported += (uint64_t)n;
		if (unreported >= PROGRESS_STEP) {
			engine_progress(w->e, 0, unreported);
			unreported = 0;
		}
	}
	if (n < 0)
		return -1;
	if (!EVP_DigestFinal_ex(md, j->sha256, &len) || len != SHA256_LEN)
		goto crypto;
	j->size = size;
	engine_progress(w->e, 1, unreported);
	return 0;
crypto:
	box_error_set("SHA-256 failed in OpenSSL");
	return -1;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct engine *e = w->e;
	size_t batch[BATCH_FILES], n;
	unsigned char *chunk = xmalloc(CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md) {
		box_error_set("out of memory in OpenSSL");
		engine_fail(e);
		goto out;
	}
	while ((n = take_batch(e, batch))) {
		/* Ask for the whole batch first: git streams while we hash. */
		for (size_t i = 0; i < n; i++) {
			if (catfile_request(w->cf, &e->jobs[batch[i]].id) < 0) {
				engine_fail(e);
				goto out;
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (hash_one(w, md, chunk, &e->jobs[batch[i]]) < 0) {
				engine_fail(e);
				goto out;
			}
		}
	}
out:
	EVP_MD_CTX_free(md);
	free(chunk);
	return NULL;
}

static unsigned int thread_count(const struct hash_options *o, size_t jobs)
{
	long cores = o->threads ? (long)o->threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (cores < 1)
		cores = 1;
	if (cores > MAX_THREADS)
		cores = MAX_THREADS;
	if ((size_t)cores > jobs)
		cores = (long)jobs;
	return (unsigned int)cores;
}

static int run_engine(struct engine *e, git_repository *repo, const struct hash_options *o,
		      struct hash_stats *stats)
{
	unsigned int n = thread_count(o, e->queue_nr);
	struct worker *workers;
	EVP_MD *sha256;
	int ret = -1;

	if (!n)
		return 0;
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256) {
		box_error_set("OpenSSL has no SHA-256");
		return -1;
	}
	e->sha256 = sha256;
	workers = xcalloc(n, sizeof(*workers));
	pthread_mutex_init(&e->lock, NULL);
	/* Start every reader here, before any thread exists to race with. */
	for (unsigned int i = 0; i < n; i++) {
		workers[i].e = e;
		if (catfile_open(&workers[i].cf, repo) < 0)
			goto out;
	}
	for (unsigned int i = 0; i < n; i++) {
		int err = pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]);

		if (err) {
			box_error_set("cannot start a hashing thread: %s", strerror(err));
			engine_fail(e);
			break;
		}
		workers[i].started = 1;
	}
	stats->threads = n;
	ret = 0;
out:
	for (unsigned int i = 0; i < n; i++)
		if (workers[i].started)
			pthread_join(workers[i].thread, NULL);
	for (unsigned int i = 0; i < n; i++) {
		if (catfile_close(workers[i].cf) < 0 && ret == 0 && !e->failed)
			engine_fail(e);
	}
	if (e->failed) {
		box_error_set("%s", e->error);
		ret = -1;
	}
	pthread_mutex_destroy(&e->lock);
	free(workers);
	EVP_MD_free(sha256);
	return ret;
}

static int compare_job_ids(const void *a, const void *b)
{
	return git_oid_cmp(&((const struct job *)a)->id, &((const struct job *)b)->id);
}

static const struct job *jobs_find(const struct job *jobs, size_t nr, const git_oid *id)
{
	struct job key;

	git_oid_cpy(&key.id, id);
	return bsearch(&key, jobs, nr, sizeof(*jobs), compare_job_ids);
}

static int compare_queue(const void *a, const void *b, void *data)
{
	const struct job *jobs = data;
	const struct job *x = &jobs[*(const size_t *)a], *y = &jobs[*(const size_t *)b];

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return git_oid_cmp(&x->id, &y->id);
}

int hash_files_compute(struct hash_files *files, git_repository *repo, const struct hash_options *o,
		       struct hash_stats *stats)
{
	struct engine e;
	struct cache cache = { NULL, 0, 0, 0 };
	git_odb *odb = NULL;
	size_t nr = 0;
	int ret = -1;

	memset(stats, 0, sizeof(*stats));
	memset(&e, 0, sizeof(e));
	stats->files = files->nr;
	e.progress = o->progress;
	e.progress_data = o->progress_data;

	/* The distinct blobs. */
	e.jobs = xcalloc(files->nr ? files->nr : 1, sizeof(*e.jobs));
	for (size_t i = 0; i < files->nr; i++)
		git_oid_cpy(&e.jobs[i].id, &files->items[i].id);
	if (files->nr > 1)
		qsort(e.jobs, files->nr, sizeof(*e.jobs), compare_job_ids);
	for (size_t i = 0; i < files->nr; i++)
		if (!nr || !git_oid_equal(&e.jobs[nr - 1].id, &e.jobs[i].id))
			e.jobs[nr++] = e.jobs[i];
	stats->blobs = nr;

	/* What the cache already knows; the sizes of the rest, to hash the largest first. */
	if (o->use_cache)
		cache_load(&cache, repo);
	if (git_repository_odb(&odb, repo) < 0) {
		box_error_from_git("cannot open the object database");
		goto out;
	}
	e.queue = xcalloc(nr ? nr : 1, sizeof(*e.queue));
	for (size_t i = 0; i < nr; i++) {
		const struct cache_entry *hit = cache_find(&cache, &e.jobs[i].id);
		size_t size;
		git_object_t type;

		if (hit) {
			e.jobs[i].size = hit->size;
			memcpy(e.jobs[i].sha256, hit->sha256, SHA256_LEN);
			stats->cached++;
			continue;
		}
		if (git_odb_read_header(&size, &type, odb, &e.jobs[i].id) < 0) {
			box_error_from_git("cannot read object %s", git_oid_tostr_s(&e.jobs[i].id));
			goto out;
		}
		e.jobs[i].size = size;
		e.queue[e.queue_nr++] = i;
	}
	if (e.queue_nr > 1)
		qsort_r(e.queue, e.queue_nr, sizeof(*e.queue), compare_queue, e.jobs);

	if (run_engine(&e, repo, o, stats) < 0)
		goto out;
	stats->hashed = e.queue_nr;
	for (size_t i = 0; i < e.queue_nr; i++)
		stats->bytes_hashed += e.jobs[e.queue[i]].size;

	for (size_t i = 0; i < files->nr; i++) {
		const struct job *j = jobs_find(e.jobs, nr, &files->items[i].id);

		files->items[i].size = j->size;
		memcpy(files->items[i].sha256, j->sha256, SHA256_LEN);
	}
	if (o->use_cache && e.queue_nr) {
		for (size_t i = 0; i < e.queue_nr; i++) {
			const struct job *j = &e.jobs[e.queue[i]];

			cache_put(&cache, &j->id, j->size, j->sha256);
		}
		if (cache_save(&cache, repo) < 0)
			stats->cache_not_written = 1;
	}
	ret = 0;
out:
	git_odb_free(odb);
	free(cache.slots);
	free(e.queue);
	free(e.jobs);
	return ret;
}

/* ---- digests computed in this process ------------------------------------- */

void hash_known_add(struct hash_known *k, const git_oid *id, uint64_t size,
		    const unsigned char *sha256)
{
	struct hash_known_blob *b;

	if (k->nr == k->alloc) {
		k->alloc = k->alloc ? 2 * k->alloc : 64;
		k->items = xrealloc(k->items, k->alloc * sizeof(*k->items));
	}
	b = &k->items[k->nr++];
	memset(b, 0, sizeof(*b));
	git_oid_cpy(&b->id, id);
	b->size = size;
	memcpy(b->sha256, sha256, SHA256_LEN);
	k->sorted = k->nr == 1;
}

static int compare_known(const void *a, const void *b)
{
	return git_oid_cmp(&((const struct hash_known_blob *)a)->id, &((const struct hash_known_blob *)b)->id);
}

void hash_known_sort(struct hash_known *k)
{
	size_t kept = 0;

	if (k->nr > 1)
		qsort(k->items, k->nr, sizeof(*k->items), compare_known);
	for (size_t i = 0; i < k->nr;) {
		size_t j = i + 1;
		int agree = 1;

		for (; j < k->nr && git_oid_equal(&k->items[j].id, &k->items[i].id); j++)
			if (k->items[j].size != k->items[i].size ||
			    memcmp(k->items[j].sha256, k->items[i].sha256, SHA256_LEN))
				agree = 0;
		if (agree)
			k->items[kept++] = k->items[i];
		i = j;
	}
	k->nr = kept;
	k->sorted = 1;
}

const struct hash_known_blob *hash_known_find(const struct hash_known *k, const git_oid *id)
{
	struct hash_known_blob key;

	if (!k || !k->sorted || !k->nr)
		return NULL;
	git_oid_cpy(&key.id, id);
	return bsearch(&key, k->items, k->nr, sizeof(*k->items), compare_known);
}

void hash_known_release(struct hash_known *k)
{
	free(k->items);
	k->items = NULL;
	k->nr = k->alloc = 0;
	k->sorted = 1;
}
