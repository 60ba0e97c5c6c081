/*
 * pkt-line: what goes on the wire, and what the reader accepts and
 * refuses. Every test talks over a real pipe; a writer thread feeds the
 * pipe when the data would not fit in its buffer or must arrive slowly.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "pkt-line.h"
#include "util.h"
#include "banned.h"

static int fds[2] = { -1, -1 };

static void open_pipe(void)
{
	ck_assert_int_eq(pipe(fds), 0);
}

static void close_pipe(void)
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	fds[0] = fds[1] = -1;
}

/* Put raw bytes in the pipe and close its writing end: what a peer sent. */
static void feed(const char *bytes, size_t len)
{
	ck_assert_int_eq(io_write_full(fds[1], bytes, len), 0);
	close(fds[1]);
	fds[1] = -1;
}

#define FEED(s) feed(s, sizeof(s) - 1)

/* Close the writing end and read everything that was written. */
static size_t drain(char *out, size_t max)
{
	ssize_t n;

	close(fds[1]);
	fds[1] = -1;
	n = io_read_full(fds[0], out, max);
	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A writer on its own thread, for data larger than a pipe's buffer or slow to come. */
struct writer {
	pthread_t thread;
	int fd;                     /* the pipe's writing end, closed when done */
	const char *data;
	size_t len;
	int packets;                /* pkt_write_stream the data, else raw bytes */
	int trickle;                /* raw bytes one at a time, pausing between them */
	pthread_t interrupt;        /* signal this thread before writing... */
	int send_signal;            /* ...if set */
	int ret;
};

static void *run_writer(void *arg)
{
	struct writer *w = arg;

	if (w->send_signal) {
		sleep_ms(50);
		pthread_kill(w->interrupt, SIGUSR1);
		sleep_ms(50);
	}
	if (w->packets) {
		w->ret = pkt_write_stream(w->fd, w->data, w->len);
	} else if (w->trickle) {
		for (size_t i = 0; i < w->len && !w->ret; i++) {
			w->ret = io_write_full(w->fd, w->data + i, 1);
			sleep_ms(1);
		}
	} else {
		w->ret = io_write_full(w->fd, w->data, w->len);
	}
	close(w->fd);
	return NULL;
}

static void writer_start(struct writer *w)
{
	/* the thread owns the writing end from here on */
	w->fd = fds[1];
	fds[1] = -1;
	ck_assert_int_eq(pthread_create(&w->thread, NULL, run_writer, w), 0);
}

static void writer_finish(struct writer *w)
{
	ck_assert_int_eq(pthread_join(w->thread, NULL), 0);
	ck_assert_int_eq(w->ret, 0);
}

static struct pkt_reader *new_reader(void)
{
	struct pkt_reader *r = xmalloc(sizeof(*r));

	pkt_reader_init(r, fds[0]);
	return r;
}

START_TEST(test_text_packet_is_length_text_and_lf)
{
	char out[64];

	open_pipe();
	ck_assert_int_eq(pkt_write_text(fds[1], "command=clean"), 0);
	ck_assert_uint_eq(drain(out, sizeof(out)), 18);
	ck_assert(!memcmp(out, "0012command=clean\n", 18));
	close_pipe();
}
END_TEST

START_TEST(test_flush_is_four_zeros)
{
	char out[8];

	open_pipe();
	ck_assert_int_eq(pkt_write_flush(fds[1]), 0);
	ck_assert_uint_eq(drain(out, sizeof(out)), 4);
	ck_assert(!memcmp(out, "0000", 4));
	close_pipe();
}
END_TEST

START_TEST(test_text_round_trip_drops_the_lf)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	ck_assert_int_eq(pkt_write_text(fds[1], "pathname=a b/c.dat"), 0);
	ck_assert_int_eq(pkt_write_flush(fds[1]), 0);
	close(fds[1]);
	fds[1] = -1;
	ck_assert_int_eq(pkt_read_text(r), PKT_DATA);
	ck_assert_str_eq(r->buf, "pathname=a b/c.dat");
	ck_assert_uint_eq(r->len, 18);
	ck_assert_int_eq(pkt_read_text(r), PKT_FLUSH);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_int_eq(pkt_read_text(r), PKT_EOF);
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_text_without_lf_is_read_as_is)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("0012command=smudge");
	ck_assert_int_eq(pkt_read_text(r), PKT_DATA);
	ck_assert_str_eq(r->buf, "command=smudge");
	ck_assert_uint_eq(r->len, 14);
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_text_reader_removes_only_one_lf)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("0007a\n\n");
	ck_assert_int_eq(pkt_read_text(r), PKT_DATA);
	ck_assert_str_eq(r->buf, "a\n");
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_data_round_trip_keeps_every_byte)
{
	static const char data[] = "bin\0ary\n\r\xff";
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	ck_assert_int_eq(pkt_write(fds[1], data, sizeof(data)), 0);
	close(fds[1]);
	fds[1] = -1;
	ck_assert_int_eq(pkt_read(r), PKT_DATA);
	ck_assert_uint_eq(r->len, sizeof(data));
	ck_assert(!memcmp(r->buf, data, sizeof(data)));
	ck_assert_int_eq(r->buf[r->len], '\0');
	ck_assert_int_eq(pkt_read(r), PKT_EOF);
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_max_size_packet_round_trips)
{
	char *data = xmalloc(PKT_DATA_MAX);
	struct writer w = { .data = data, .len = PKT_DATA_MAX, .packets = 1 };
	struct pkt_reader *r;

	for (size_t i = 0; i < PKT_DATA_MAX; i++)
		data[i] = (char)(i * 7);
	open_pipe();
	r = new_reader();
	writer_start(&w);
	ck_assert_int_eq(pkt_read(r), PKT_DATA);
	ck_assert_uint_eq(r->len, PKT_DATA_MAX);
	ck_assert(!memcmp(r->buf, data, PKT_DATA_MAX));
	ck_assert_int_eq(pkt_read(r), PKT_EOF);
	writer_finish(&w);
	free(r);
	free(data);
	close_pipe();
}
END_TEST

START_TEST(test_max_size_header_is_fff0)
{
	char *data = xcalloc(1, PKT_DATA_MAX);
	struct writer w = { .data = data, .len = PKT_DATA_MAX, .packets = 1 };
	char hdr[4];

	open_pipe();
	writer_start(&w);
	ck_assert_int_eq(io_read_full(fds[0], hdr, 4), 4);
	ck_assert(!memcmp(hdr, "fff0", 4));
	while (io_read_full(fds[0], data, PKT_DATA_MAX) > 0)
		;
	writer_finish(&w);
	free(data);
	close_pipe();
}
END_TEST

START_TEST(test_oversize_write_is_refused_and_writes_nothing)
{
	char *data = xcalloc(1, PKT_DATA_MAX + 1);
	char out[8];

	open_pipe();
	ck_assert_int_eq(pkt_write(fds[1], data, PKT_DATA_MAX + 1), -1);
	ck_assert_ptr_nonnull(strstr(box_error_last(), "longer than"));
	ck_assert_uint_eq(drain(out, sizeof(out)), 0);
	free(data);
	close_pipe();
}
END_TEST

START_TEST(test_oversize_text_is_refused)
{
	char *text = xmalloc(PKT_DATA_MAX + 1);

	/* 65516 characters plus the LF make one byte too many */
	memset(text, 'x', PKT_DATA_MAX);
	text[PKT_DATA_MAX] = '\0';
	open_pipe();
	ck_assert_int_eq(pkt_write_text(fds[1], text), -1);
	text[PKT_DATA_MAX - 1] = '\0';
	ck_assert_int_eq(pkt_write_text(fds[1], text), 0);
	free(text);
	close_pipe();
}
END_TEST

START_TEST(test_oversize_read_is_refused)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("fff1");
	ck_assert_int_eq(pkt_read(r), -1);
	ck_assert_str_eq(box_error_last(), "packet of 65521 bytes is longer than the maximum of 65520");
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_bad_hex_is_refused)
{
	static const char *const bad[] = { "00zz", "-001", " 00a", "0x10", "00\n5" };
	struct pkt_reader *r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		open_pipe();
		r = new_reader();
		feed(bad[i], 4);
		ck_assert_int_eq(pkt_read(r), -1);
		ck_assert_ptr_nonnull(strstr(box_error_last(), "bad packet length"));
		free(r);
		close_pipe();
	}
	ck_assert_str_eq(box_error_last(), "bad packet length '00\\x0a5'");
}
END_TEST

START_TEST(test_upper_case_hex_is_accepted)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("000Aabcdef");
	ck_assert_int_eq(pkt_read(r), PKT_DATA);
	ck_assert_str_eq(r->buf, "abcdef");
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_special_packets_are_refused)
{
	static const char *const special[] = { "0001", "0002", "0003" };
	struct pkt_reader *r;

	for (size_t i = 0; i < ARRAY_SIZE(special); i++) {
		open_pipe();
		r = new_reader();
		feed(special[i], 4);
		ck_assert_int_eq(pkt_read(r), -1);
		ck_assert_ptr_nonnull(strstr(box_error_last(), "unexpected special packet"));
		free(r);
		close_pipe();
	}
}
END_TEST

START_TEST(test_eof_inside_a_payload_is_refused)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("0010abc");
	ck_assert_int_eq(pkt_read(r), -1);
	ck_assert_str_eq(box_error_last(), "end of input inside a packet (3 of 12 bytes)");
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_eof_inside_a_length_is_refused)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("00");
	ck_assert_int_eq(pkt_read(r), -1);
	ck_assert_str_eq(box_error_last(), "end of input inside a packet length (2 of 4 bytes)");
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_eof_between_packets_is_clean)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("0008abcd0000");
	ck_assert_int_eq(pkt_read(r), PKT_DATA);
	ck_assert_int_eq(pkt_read(r), PKT_FLUSH);
	ck_assert_int_eq(pkt_read(r), PKT_EOF);
	ck_assert_int_eq(pkt_read(r), PKT_EOF);
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_empty_packet_is_data_but_not_text)
{
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	FEED("00040004" "0005\n");
	ck_assert_int_eq(pkt_read(r), PKT_DATA);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_int_eq(pkt_read_text(r), -1);
	ck_assert_ptr_nonnull(strstr(box_error_last(), "line of text was expected"));
	ck_assert_int_eq(pkt_read_text(r), -1);
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_stream_splits_into_full_packets)
{
	enum { LEN = 200000 };
	char *data = xmalloc(LEN), *back = xmalloc(LEN);
	static const size_t sizes[] = { PKT_DATA_MAX, PKT_DATA_MAX, PKT_DATA_MAX,
					LEN - 3 * PKT_DATA_MAX };
	struct writer w = { .data = data, .len = LEN, .packets = 1 };
	struct pkt_reader *r;
	size_t got = 0;

	for (size_t i = 0; i < LEN; i++)
		data[i] = (char)(i % 251);
	open_pipe();
	r = new_reader();
	writer_start(&w);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		ck_assert_int_eq(pkt_read(r), PKT_DATA);
		ck_assert_uint_eq(r->len, sizes[i]);
		memcpy(back + got, r->buf, r->len);
		got += r->len;
	}
	ck_assert_int_eq(pkt_read(r), PKT_EOF);
	writer_finish(&w);
	ck_assert_uint_eq(got, LEN);
	ck_assert(!memcmp(back, data, LEN));
	free(r);
	free(data);
	free(back);
	close_pipe();
}
END_TEST

START_TEST(test_stream_of_nothing_writes_nothing)
{
	char out[8];

	open_pipe();
	ck_assert_int_eq(pkt_write_stream(fds[1], "", 0), 0);
	ck_assert_int_eq(pkt_write(fds[1], "", 0), 0);
	ck_assert_uint_eq(drain(out, sizeof(out)), 0);
	close_pipe();
}
END_TEST

START_TEST(test_reader_joins_a_packet_sent_byte_by_byte)
{
	static const char stream[] = "000fhello world0000";
	struct writer w = { .data = stream, .len = sizeof(stream) - 1, .trickle = 1 };
	struct pkt_reader *r;

	open_pipe();
	r = new_reader();
	writer_start(&w);
	ck_assert_int_eq(pkt_read(r), PKT_DATA);
	ck_assert_str_eq(r->buf, "hello world");
	ck_assert_int_eq(pkt_read(r), PKT_FLUSH);
	ck_assert_int_eq(pkt_read(r), PKT_EOF);
	writer_finish(&w);
	free(r);
	close_pipe();
}
END_TEST

static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
	signals_seen++;
}

START_TEST(test_reader_survives_a_signal)
{
	static const char stream[] = "0009hello";
	struct writer w = { .data = stream, .len = sizeof(stream) - 1, .send_signal = 1 };
	struct sigaction sa = { .sa_handler = count_signal }, old;
	struct pkt_reader *r;

	/* no SA_RESTART: the blocked read(2) returns EINTR */
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
	signals_seen = 0;
	w.interrupt = pthread_self();
	open_pipe();
	r = new_reader();
	writer_start(&w);
	ck_assert_int_eq(pkt_read(r), PKT_DATA);
	ck_assert_str_eq(r->buf, "hello");
	writer_finish(&w);
	ck_assert_int_eq(signals_seen, 1);
	sigaction(SIGUSR1, &old, NULL);
	free(r);
	close_pipe();
}
END_TEST

START_TEST(test_write_to_a_closed_pipe_is_an_error)
{
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	open_pipe();
	close(fds[0]);
	fds[0] = -1;
	ck_assert_int_eq(pkt_write_text(fds[1], "status=success"), -1);
	ck_assert_str_eq(box_error_last(), "cannot write a packet: Broken pipe");
	ck_assert_int_eq(pkt_write_flush(fds[1]), -1);
	signal(SIGPIPE, old);
	close_pipe();
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("pkt-line");
	TCase *wire = tcase_create("wire format");
	TCase *refused = tcase_create("refused input");
	TCase *stream = tcase_create("streams and system calls");

	tcase_add_test(wire, test_text_packet_is_length_text_and_lf);
	tcase_add_test(wire, test_flush_is_four_zeros);
	tcase_add_test(wire, test_text_round_trip_drops_the_lf);
	tcase_add_test(wire, test_text_without_lf_is_read_as_is);
	tcase_add_test(wire, test_text_reader_removes_only_one_lf);
	tcase_add_test(wire, test_data_round_trip_keeps_every_byte);
	tcase_add_test(wire, test_max_size_packet_round_trips);
	tcase_add_test(wire, test_max_size_header_is_fff0);
	tcase_add_test(wire, test_upper_case_hex_is_accepted);
	tcase_add_test(wire, test_eof_between_packets_is_clean);
	suite_add_tcase(s, wire);

	tcase_add_test(refused, test_oversize_write_is_refused_and_writes_nothing);
	tcase_add_test(refused, test_oversize_text_is_refused);
	tcase_add_test(refused, test_oversize_read_is_refused);
	tcase_add_test(refused, test_bad_hex_is_refused);
	tcase_add_test(refused, test_special_packets_are_refused);
	tcase_add_test(refused, test_eof_inside_a_payload_is_refused);
	tcase_add_test(refused, test_eof_inside_a_length_is_refused);
	tcase_add_test(refused, test_empty_packet_is_data_but_not_text);
	suite_add_tcase(s, refused);

	tcase_add_test(stream, test_stream_splits_into_full_packets);
	tcase_add_test(stream, test_stream_of_nothing_writes_nothing);
	tcase_add_test(stream, test_reader_joins_a_packet_sent_byte_by_byte);
	tcase_add_test(stream, test_reader_survives_a_signal);
	tcase_add_test(stream, test_write_to_a_closed_pipe_is_an_error);
	suite_add_tcase(s, stream);
	return s;
}

UNIT_MAIN(make_suite)
