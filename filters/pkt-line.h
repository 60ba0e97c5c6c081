#ifndef PKT_LINE_H
#define PKT_LINE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * git's pkt-line framing (gitprotocol-common(5)): a 4-digit hex length
 * that counts itself, then the data; "0000" is a flush packet.
 * Nothing here prints or exits: every call returns 0 or a negative code
 * with box_error set, so the filter can answer status=error and go on.
 * Reads and writes survive EINTR and short transfers.
 */

#define PKT_MAX 65520                 /* whole packet, length header included */
#define PKT_DATA_MAX (PKT_MAX - 4)    /* 65516 bytes of payload */

enum pkt_status {
	PKT_DATA = 0,     /* a data packet was read */
	PKT_FLUSH = 1,    /* "0000" */
	PKT_EOF = 2,      /* clean end of input before any byte of a packet */
};

struct pkt_reader {
	int fd;
	char buf[PKT_MAX + 1];   /* the packet just read, NUL-terminated */
	size_t len;              /* its payload length */
};

void pkt_reader_init(struct pkt_reader *r, int fd);

/*
 * Read one packet. Returns PKT_DATA (payload in r->buf, r->len),
 * PKT_FLUSH, PKT_EOF, or -1 on a protocol violation or I/O error.
 * Violations: a length that is not 4 hex digits, a special packet
 * ("0001" to "0003": not part of a version 2 filter conversation), a
 * packet over PKT_MAX, end of input inside a packet. An empty data
 * packet ("0004") is accepted as PKT_DATA of length 0.
 */
int pkt_read(struct pkt_reader *r);

/*
 * Read one text packet ("key=value\n"): like pkt_read, with the trailing
 * LF removed. A data packet that is empty after that is a violation.
 */
int pkt_read_text(struct pkt_reader *r);

/*
 * Write one data packet (len <= PKT_DATA_MAX). A len of 0 writes nothing:
 * gitprotocol-common(5) says not to send empty packets, and an empty
 * content is just the flush that follows.
 */
int pkt_write(int fd, const void *data, size_t len);
/* Write "text\n" as one packet. */
int pkt_write_text(int fd, const char *text);
int pkt_write_flush(int fd);
/* Write any length as as many packets as it takes (no flush). */
int pkt_write_stream(int fd, const void *data, size_t len);

/*
 * The raw I/O under the packets, for the filter's spool file too: read
 * until len bytes or end of file (returns the count, short only at end
 * of file) and write all of len; both retry EINTR, EAGAIN and short
 * transfers, and return -1 with errno set on failure. They set no
 * box_error: the caller knows what the file was.
 */
ssize_t io_read_full(int fd, void *buf, size_t len);
int io_write_full(int fd, const void *buf, size_t len);

#endif
