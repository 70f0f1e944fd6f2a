/*
 * AMI framing, as Asterisk's manager.c reads it: "Key: Value" lines ending
 * in CRLF (a bare LF too), a blank line ending the message. A line longer
 * than max_line bytes with its ending, or more than max_headers lines,
 * does not lose the connection: the message is marked and answered with
 * Asterisk's own error once its blank line arrives.
 *
 * The reader copies each line it keeps, so the caller may drain its input
 * as it goes; a message's slices stay valid until the next ami_reader_feed.
 */
#ifndef PBX_AMI_FRAME_H
#define PBX_AMI_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

#define AMI_MAX_LINE 1024	/* Asterisk's inbuf: 1024 bytes and a NUL */
#define AMI_MAX_HEADERS 128	/* Asterisk's AST_MAX_MANHEADERS */

enum ami_status {
	AMI_MSG_OK,
	AMI_MSG_LINE_TOO_LONG,	/* "Failed to parse message: line too long" */
	AMI_MSG_TOO_MANY,	/* "Too many lines in message or allocation failure" */
	AMI_MSG_BAD_BYTES,	/* a NUL or other control byte inside a line */
};

struct ami_msg {
	struct slice *h;	/* whole lines, "Key: Value", without the line ending */
	size_t n;
	enum ami_status status;
};

struct ami_reader {
	size_t max_line, max_headers;
	char *arena;		/* kept lines, back to back */
	size_t used, cap;
	size_t *offs, *lens;	/* per kept line */
	size_t n;
	size_t line_start;	/* the line being read starts at arena + line_start */
	bool discarding;	/* in an over-long line: drop up to its LF */
	bool done;		/* a message was returned: start afresh on the next feed */
	size_t want_headers;	/* a new limit, from the next message on */
	enum ami_status status;
	struct slice *view;	/* msg.h, rebuilt per message */
	struct ami_msg msg;
};

bool ami_reader_init(struct ami_reader *r, size_t max_line, size_t max_headers);
void ami_reader_free(struct ami_reader *r);
/* Tighter or looser limits from the next message on (before and after login). */
bool ami_reader_limit(struct ami_reader *r, size_t max_headers);
/*
 * Consumes input up to the end of one message. Returns the message when
 * its blank line was read (*used says how far), else NULL with all of the
 * input consumed. False in *oom when memory ran out (close the session).
 */
const struct ami_msg *ami_reader_feed(struct ami_reader *r, struct slice in, size_t *used,
    bool *oom);
/* Bytes held in a message not yet complete. */
size_t ami_reader_pending(const struct ami_reader *r);

/* The first "Key:" header's value (Asterisk's astman_get_header): the key is
 * matched without case and must be followed by ':' at once; the value skips
 * leading blanks. Empty slice (p non-NULL) when absent. */
struct slice ami_get(const struct ami_msg *m, const char *key);
/* The first one with a non-empty value (as Asterisk reads Action:). */
struct slice ami_get_nonempty(const struct ami_msg *m, const char *key);

#endif
