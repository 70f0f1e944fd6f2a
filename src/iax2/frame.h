/*
 * IAX2 frames (RFC 5456) as chan_iax2 puts them on the wire: the 12-byte
 * full frame header, the 4-byte mini frame, meta frames (recognised and
 * refused), and the information elements of IAX control frames. Parsing
 * works on the datagram in place: IE values are slices into it, never
 * NUL-terminated, and an IE whose length runs past the datagram makes the
 * whole frame undecodable, as in Asterisk's iax_parse_ies().
 */
#ifndef PBX_IAX2_FRAME_H
#define PBX_IAX2_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

#define IAX_FULL_HDR 12
#define IAX_MINI_HDR 4
#define IAX_MAX_FRAME 4096		/* bigger datagrams are not IAX2 */
#define IAX_FLAG_FULL 0x8000
#define IAX_FLAG_RETRANS 0x8000
#define IAX_MAX_CALLNO 32767

/* Frame types (Asterisk's AST_FRAME_*). */
enum iax_type {
	IAX_T_DTMF_END = 1, IAX_T_VOICE = 2, IAX_T_VIDEO = 3, IAX_T_CONTROL = 4,
	IAX_T_NULL = 5, IAX_T_IAX = 6, IAX_T_TEXT = 7, IAX_T_IMAGE = 8, IAX_T_HTML = 9,
	IAX_T_CNG = 10, IAX_T_MODEM = 11, IAX_T_DTMF_BEGIN = 12,
};

/* IAX control subclasses (RFC 5456 section 8.4 plus Asterisk's CALLTOKEN). */
enum iax_cmd {
	IAX_NEW = 1, IAX_PING = 2, IAX_PONG = 3, IAX_ACK = 4, IAX_HANGUP = 5,
	IAX_REJECT = 6, IAX_ACCEPT = 7, IAX_AUTHREQ = 8, IAX_AUTHREP = 9, IAX_INVAL = 10,
	IAX_LAGRQ = 11, IAX_LAGRP = 12, IAX_REGREQ = 13, IAX_REGAUTH = 14, IAX_REGACK = 15,
	IAX_REGREJ = 16, IAX_REGREL = 17, IAX_VNAK = 18, IAX_DPREQ = 19, IAX_DPREP = 20,
	IAX_DIAL = 21, IAX_TXREQ = 22, IAX_TXCNT = 23, IAX_TXACC = 24, IAX_TXREADY = 25,
	IAX_TXREL = 26, IAX_TXREJ = 27, IAX_QUELCH = 28, IAX_UNQUELCH = 29, IAX_POKE = 30,
	IAX_PAGE = 31, IAX_MWI = 32, IAX_UNSUPPORT = 33, IAX_TRANSFER = 34,
	IAX_PROVISION = 35, IAX_FWDOWNL = 36, IAX_FWDATA = 37, IAX_TXMEDIA = 38,
	IAX_RTKEY = 39, IAX_CALLTOKEN = 40,
};

/* Information elements. */
enum iax_ie_type {
	IAX_IE_CALLED_NUMBER = 1, IAX_IE_CALLING_NUMBER = 2, IAX_IE_CALLING_ANI = 3,
	IAX_IE_CALLING_NAME = 4, IAX_IE_CALLED_CONTEXT = 5, IAX_IE_USERNAME = 6,
	IAX_IE_PASSWORD = 7, IAX_IE_CAPABILITY = 8, IAX_IE_FORMAT = 9, IAX_IE_LANGUAGE = 10,
	IAX_IE_VERSION = 11, IAX_IE_ADSICPE = 12, IAX_IE_DNID = 13, IAX_IE_AUTHMETHODS = 14,
	IAX_IE_CHALLENGE = 15, IAX_IE_MD5_RESULT = 16, IAX_IE_RSA_RESULT = 17,
	IAX_IE_APPARENT_ADDR = 18, IAX_IE_REFRESH = 19, IAX_IE_DPSTATUS = 20,
	IAX_IE_CALLNO = 21, IAX_IE_CAUSE = 22, IAX_IE_IAX_UNKNOWN = 23, IAX_IE_MSGCOUNT = 24,
	IAX_IE_AUTOANSWER = 25, IAX_IE_MUSICONHOLD = 26, IAX_IE_TRANSFERID = 27,
	IAX_IE_RDNIS = 28, IAX_IE_DATETIME = 31, IAX_IE_CALLINGPRES = 38,
	IAX_IE_CALLINGTON = 39, IAX_IE_CALLINGTNS = 40, IAX_IE_SAMPLINGRATE = 41,
	IAX_IE_CAUSECODE = 42, IAX_IE_ENCRYPTION = 43, IAX_IE_ENCKEY = 44,
	IAX_IE_CODEC_PREFS = 45, IAX_IE_VARIABLE = 52, IAX_IE_OSPTOKEN = 53,
	IAX_IE_CALLTOKEN = 54, IAX_IE_CAPABILITY2 = 55, IAX_IE_FORMAT2 = 56,
};

/* AUTHMETHODS bits. */
#define IAX_AUTH_PLAINTEXT 1
#define IAX_AUTH_MD5 2
#define IAX_AUTH_RSA 4

/* Asterisk's cause codes (Q.931) used by the door. */
#define IAX_CAUSE_FACILITY_REJECTED 29
#define IAX_CAUSE_FACILITY_NOT_SUBSCRIBED 50
#define IAX_CAUSE_CALL_REJECTED 21
#define IAX_CAUSE_CONGESTION 34
#define IAX_CAUSE_NO_ROUTE 3
#define IAX_CAUSE_UNREGISTERED 20
#define IAX_CAUSE_NORMAL 16
#define IAX_CAUSE_TEMPORARY_FAILURE 41

enum iax_kind { IAX_FULL, IAX_MINI, IAX_META };

struct iax_frame {
	enum iax_kind kind;
	uint16_t scallno;		/* the sender's call number */
	uint16_t dcallno;		/* full: ours (0 for a new call) */
	bool retrans;			/* full: the R bit */
	uint32_t ts;			/* full: 32 bits; mini: the low 16 */
	uint8_t oseqno, iseqno;
	uint8_t type;
	uint64_t subclass;		/* uncompressed */
	uint8_t csub;			/* as on the wire */
	struct slice data;		/* after the header */
};

/* Decodes a header; false when the datagram cannot be an IAX2 frame. */
bool iax_frame_parse(const uint8_t *buf, size_t n, struct iax_frame *f);

#define IAX_IE_SEEN_WORDS 4
struct iax_ies {
	struct slice v[256];		/* each IE's value (the last one wins) */
	uint64_t seen[IAX_IE_SEEN_WORDS];	/* which IEs were present, even empty */
};

/* Decodes IEs; false (with why) when one runs past the end. */
bool iax_ies_parse(struct slice data, struct iax_ies *ies, const char **why);
bool iax_ie_present(const struct iax_ies *ies, uint8_t ie);
/* A 2- or 4-byte big-endian IE; false when absent or of another size. */
bool iax_ie_u16(const struct iax_ies *ies, uint8_t ie, uint16_t *out);
bool iax_ie_u32(const struct iax_ies *ies, uint8_t ie, uint32_t *out);

/* A frame being built: header then IEs, bounded by the buffer. */
struct iax_out {
	uint8_t buf[1500];
	size_t n;
	bool overflow;
};

void iax_out_full(struct iax_out *o, uint16_t scallno, uint16_t dcallno, uint32_t ts,
    uint8_t oseqno, uint8_t iseqno, uint8_t type, uint64_t subclass);
void iax_out_ie(struct iax_out *o, uint8_t ie, const void *v, size_t n);
void iax_out_ie_str(struct iax_out *o, uint8_t ie, const char *s);
void iax_out_ie_u8(struct iax_out *o, uint8_t ie, uint8_t v);
void iax_out_ie_u16(struct iax_out *o, uint8_t ie, uint16_t v);
void iax_out_ie_u32(struct iax_out *o, uint8_t ie, uint32_t v);
void iax_out_raw(struct iax_out *o, const void *v, size_t n);

/* Asterisk's compressed subclass: values >= 0x80 are sent as 0x80 | log2. */
uint8_t iax_compress_subclass(uint64_t subclass, bool *ok);

/* APPARENT_ADDR as chan_iax2 sends it: a struct sockaddr_in image. */
void iax_apparent_addr(const void *sockaddr, uint8_t out[16]);
/* DATETIME: Asterisk's packed local time (2-second resolution, from 2000). */
uint32_t iax_datetime(long long unix_time);

const char *iax_cmd_name(uint64_t subclass);

#endif
