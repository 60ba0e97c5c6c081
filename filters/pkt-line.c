/*
 * pkt-line, the framing of git's long-running filter protocol
 * (gitprotocol-common(5)). Written from the protocol description; see
 * pkt-line.h for the contract.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pkt-line.h"
#include "util.h"
#include "banned.h"

/*
 * A descriptor someone made non-blocking would make read/write fail with
 * EAGAIN; wait until it is ready instead of treating that as an error.
 */
static void wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	poll(&p, 1, -1);
}

ssize_t io_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				wait_for(fd, POLLIN);
				continue;
			}
			return -1;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Write every byte of every iovec, however the kernel splits it up. */
static int write_iov(int fd, struct iovec *iov, int cnt)
{
	for (;;) {
		ssize_t n;

		/* skip what has gone out (and empty pieces) */
		while (cnt && !iov->iov_len)
			iov++, cnt--;
		if (!cnt)
			return 0;
		n = writev(fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				wait_for(fd, POLLOUT);
				continue;
			}
			return -1;
		}
		if (!n) {
			/* no progress and no error: do not spin */
			errno = ENOSPC;
			return -1;
		}
		for (; cnt && (size_t)n >= iov->iov_len; iov++, cnt--)
			n -= (ssize_t)iov->iov_len;
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
}

int io_write_full(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return write_iov(fd, &iov, 1);
}

void pkt_reader_init(struct pkt_reader *r, int fd)
{
	r->fd = fd;
	r->len = 0;
	r->buf[0] = '\0';
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The 4-byte length header as it came, escaped for a message. */
static const char *show_header(char out[17], const char *hdr)
{
	char *p = out;

	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)hdr[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			*p++ = (char)c;
		else
			p += snprintf(p, 5, "\\x%02x", c);
	}
	*p = '\0';
	return out;
}

int pkt_read(struct pkt_reader *r)
{
	char hdr[4], shown[17];
	size_t want;
	ssize_t n;
	int len = 0;

	r->len = 0;
	r->buf[0] = '\0';
	n = io_read_full(r->fd, hdr, sizeof(hdr));
	if (n < 0) {
		box_error_set("cannot read a packet: %s", strerror(errno));
		return -1;
	}
	if (!n)
		return PKT_EOF;
	if (n < (ssize_t)sizeof(hdr)) {
		box_error_set("end of input inside a packet length (%zd of 4 bytes)", n);
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)hdr[i]);

		if (d < 0) {
			box_error_set("bad packet length '%s'", show_header(shown, hdr));
			return -1;
		}
		len = (len << 4) | d;
	}
	if (!len)
		return PKT_FLUSH;
	if (len < 4) {
		/* 0001 delim and 0002 response-end belong to protocol v2 fetch, not to filters */
		box_error_set("unexpected special packet '%s'", show_header(shown, hdr));
		return -1;
	}
	if (len > PKT_MAX) {
		box_error_set("packet of %d bytes is longer than the maximum of %d", len, PKT_MAX);
		return -1;
	}
	want = (size_t)len - 4;
	n = io_read_full(r->fd, r->buf, want);
	if (n < 0) {
		box_error_set("cannot read a packet: %s", strerror(errno));
		return -1;
	}
	if ((size_t)n < want) {
		box_error_set("end of input inside a packet (%zd of %zu bytes)", n, want);
		return -1;
	}
	r->len = want;
	r->buf[want] = '\0';
	return PKT_DATA;
}

int pkt_read_text(struct pkt_reader *r)
{
	int ret = pkt_read(r);

	if (ret != PKT_DATA)
		return ret;
	if (r->len && r->buf[r->len - 1] == '\n')
		r->buf[--r->len] = '\0';
	if (!r->len) {
		box_error_set("empty packet where a line of text was expected");
		return -1;
	}
	return PKT_DATA;
}

static void format_length(char hdr[4], size_t len)
{
	static const char hex[] = "0123456789abcdef";

	hdr[0] = hex[(len >> 12) & 0xf];
	hdr[1] = hex[(len >> 8) & 0xf];
	hdr[2] = hex[(len >> 4) & 0xf];
	hdr[3] = hex[len & 0xf];
}

/* Header and payload pieces go out in one writev: one packet, one system call. */
static int write_packet(int fd, struct iovec *iov, int cnt, size_t len)
{
	char hdr[4];

	if (len > PKT_DATA_MAX) {
		box_error_set("packet of %zu bytes is longer than the maximum of %d", len + 4, PKT_MAX);
		return -1;
	}
	format_length(hdr, len + 4);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	if (write_iov(fd, iov, cnt) < 0) {
		box_error_set("cannot write a packet: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int pkt_write(int fd, const void *data, size_t len)
{
	struct iovec iov[2];

	if (!len)
		return 0;
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	return write_packet(fd, iov, 2, len);
}

int pkt_write_text(int fd, const char *text)
{
	struct iovec iov[3];
	size_t len = strlen(text);

	iov[1].iov_base = (void *)text;
	iov[1].iov_len = len;
	iov[2].iov_base = (void *)"\n";
	iov[2].iov_len = 1;
	return write_packet(fd, iov, 3, len + 1);
}

int pkt_write_flush(int fd)
{
	if (io_write_full(fd, "0000", 4) < 0) {
		box_error_set("cannot write a flush packet: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int pkt_write_stream(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		size_t n = len < PKT_DATA_MAX ? len : PKT_DATA_MAX;

		if (pkt_write(fd, p, n) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}
