/*
 * echo_c: the plain-C (C99) example bridge plugin: the whole ABI implemented without a
 * line of C++. It exports only oaio_plugin_entry_v1 and serves one target (config
 * "target", default "echo") for invoke and stream callers:
 *   - a stream caller gets started {"plugin":"echo_c"}, then the payload's "text"
 *     split into deltas {"delta":"..."} of at most chunk_size code points;
 *   - every caller then gets the final {"echo": <payload or null>, "plugin":"echo_c"};
 *   - a payload {"fail":{"code":"AGENT_TIMEOUT","message":"..."}} (optional
 *     "retryable", "retry_after_ms") fails the call with that ACP code instead;
 *   - with delay_ms > 0 the reply is sent after the delay from the instance's own
 *     pthread (completion from any thread is allowed); a cancelled delayed call is
 *     failed with OAIO_ERR_CANCELLED at once and sends nothing more.
 * THREAD: call/cancel run on host workers; one worker pthread per instance sends the
 * delayed replies; a mutex guards the pending list.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oaio/plugin.h"

#if defined(__SSE2__)
#include <emmintrin.h> /* SSE2 intrinsics for skip_string (see has_special_byte) */
#endif

/* The plugin's name, also the prefix of its error messages. The tests build a second
 * copy under another name, without SSE2, to test the portable string scan too. */
#ifndef ECHO_NAME
#define ECHO_NAME "echo_c"
#endif
#define ECHO_VERSION "1.0.0"
#define ECHO_DESCRIPTION "Echoes each call back (plain C example)"

static const char kConfigSchema[] =
    "{\"type\":\"object\",\"properties\":{\"target\":{\"type\":\"string\",\"default\":\"echo\"},"
    "\"delay_ms\":{\"type\":\"integer\",\"minimum\":0},\"chunk_size\":{\"type\":\"integer\",\"minimum\":1}},"
    "\"additionalProperties\":false}";
static const char kInputSchema[] =
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},\"fail\":{\"type\":\"object\","
    "\"properties\":{\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"}}}}}";

/* The host's table, from the entry; valid for the life of the process. */
static const oaio_host_api* g_api;

static oaio_str mkstr(const char* s) {
  oaio_str out;
  out.data = s;
  out.len = strlen(s);
  return out;
}

/* ---- a growable byte buffer (allocated and freed by this plugin only) ---------------- */

typedef struct buf {
  char* data;
  size_t len, cap;
  int oom;
} buf;

static void buf_add(buf* b, const char* s, size_t n) {
  if (b->oom) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    char* p;
    while (cap < b->len + n) cap *= 2;
    p = (char*)realloc(b->data, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
}
static void buf_adds(buf* b, const char* s) { buf_add(b, s, strlen(s)); }
/* Room for n more bytes in one allocation (a reply's size is known before it is built). */
static void buf_reserve(buf* b, size_t n) {
  char* p;
  if (b->oom || b->len + n <= b->cap) return;
  p = (char*)realloc(b->data, b->len + n);
  if (!p) {
    b->oom = 1;
    return;
  }
  b->data = p;
  b->cap = b->len + n;
}
static oaio_str buf_str(const buf* b) {
  oaio_str s;
  s.data = b->data;
  s.len = b->len;
  return s;
}

/* ---- a minimal JSON reader over [p, end): enough for configs and payloads ------------ */

static const char* ws(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

/* Plain text inside a JSON string is skipped a block at a time: the byte loop in
 * skip_string only looks at blocks holding a '"', a '\\' or a control character. With
 * SSE2 (every x86-64 CPU) a block is 16 bytes; elsewhere 8, with "has a zero byte"
 * bit tricks on a 64-bit word. A false alarm only costs the byte loop a look. */
#if defined(__SSE2__)
#define TEXT_BLOCK 16
static int has_special_byte(const char* p) {
  const __m128i v = _mm_loadu_si128((const __m128i*)(const void*)p);
  /* a byte below 0x20 is one that the unsigned minimum with 0x1F leaves unchanged */
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  return _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))) != 0;
}
#else
#define TEXT_BLOCK 8
static int has_special_byte(const char* p) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t w, quote, backslash;
  memcpy(&w, p, sizeof w);
  quote = w ^ (ones * '"');
  backslash = w ^ (ones * '\\');
  return ((((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash)) & highs) != 0;
}
#endif

/* Returns the end of the string starting at the quote `p`, or NULL. */
static const char* skip_string(const char* p, const char* end) {
  for (++p; p < end; ++p) {
    while (end - p >= TEXT_BLOCK && !has_special_byte(p)) p += TEXT_BLOCK; /* plain text */
    if (p == end) break;
    if (*p == '\\') {
      if (++p == end) return NULL;
    } else if (*p == '"') {
      return p + 1;
    } else if ((unsigned char)*p < 0x20) {
      return NULL;
    }
  }
  return NULL;
}

/* Returns the end of the JSON value at `p` (after whitespace), or NULL if malformed. */
static const char* skip_value(const char* p, const char* end, int depth) {
  p = ws(p, end);
  if (p == end || depth > 64) return NULL;
  if (*p == '"') return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    p = ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
      if (close == '}') {
        if (p == end || *p != '"' || !(p = skip_string(p, end))) return NULL;
        p = ws(p, end);
        if (p == end || *p++ != ':') return NULL;
      }
      if (!(p = skip_value(p, end, depth + 1))) return NULL;
      p = ws(p, end);
      if (p == end) return NULL;
      if (*p == close) return p + 1;
      if (*p++ != ',') return NULL;
      p = ws(p, end);
    }
  }
  if (*p == 't' || *p == 'f' || *p == 'n') {
    static const char* const literals[] = {"true", "false", "null"};
    size_t i;
    for (i = 0; i < 3; ++i) {
      size_t n = strlen(literals[i]);
      if ((size_t)(end - p) >= n && !memcmp(p, literals[i], n)) return p + n;
    }
    return NULL;
  }
  {
    const char* start = p;
    if (*p == '-') ++p;
    while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
      ++p;
    return (p > start && p[-1] >= '0' && p[-1] <= '9') ? p : NULL;
  }
}

/* A top-level member looked for by scan_payload: v stays NULL when it is absent. */
typedef struct member {
  const char* key; /* plain ASCII */
  const char* v;
  const char* vend;
} member;

/* Checks that [p, end) is one JSON value and, when it is an object, finds the listed
 * members (the first of duplicates) in the same single pass. 1 = valid JSON. */
static int scan_payload(const char* p, const char* end, member* members, size_t n) {
  p = ws(p, end);
  if (p == end || *p != '{') {
    const char* v = skip_value(p, end, 0);
    return v && ws(v, end) == end;
  }
  p = ws(p + 1, end);
  if (p < end && *p == '}') return ws(p + 1, end) == end;
  for (;;) {
    const char *k = p + 1, *kend, *val;
    size_t i;
    if (p == end || *p != '"' || !(kend = skip_string(p, end))) return 0;
    p = ws(kend, end);
    if (p == end || *p++ != ':') return 0;
    val = ws(p, end);
    if (!(p = skip_value(val, end, 0))) return 0;
    for (i = 0; i < n; ++i) {
      size_t klen = strlen(members[i].key);
      if (!members[i].v && (size_t)(kend - 1 - k) == klen && !memcmp(k, members[i].key, klen)) {
        members[i].v = val;
        members[i].vend = p;
      }
    }
    p = ws(p, end);
    if (p == end) return 0;
    if (*p == '}') return ws(p + 1, end) == end;
    if (*p++ != ',') return 0;
    p = ws(p, end);
  }
}

static void add_utf8(buf* b, unsigned long cp) {
  char s[4];
  if (cp < 0x80) {
    s[0] = (char)cp;
    buf_add(b, s, 1);
  } else if (cp < 0x800) {
    s[0] = (char)(0xC0 | (cp >> 6));
    s[1] = (char)(0x80 | (cp & 0x3F));
    buf_add(b, s, 2);
  } else if (cp < 0x10000) {
    s[0] = (char)(0xE0 | (cp >> 12));
    s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    s[2] = (char)(0x80 | (cp & 0x3F));
    buf_add(b, s, 3);
  } else {
    s[0] = (char)(0xF0 | (cp >> 18));
    s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    s[3] = (char)(0x80 | (cp & 0x3F));
    buf_add(b, s, 4);
  }
}

static int hex4(const char* p, const char* end, unsigned long* out) {
  int i;
  *out = 0;
  if (end - p < 4) return 0;
  for (i = 0; i < 4; ++i) {
    char c = p[i];
    unsigned long d = (c >= '0' && c <= '9') ? (unsigned long)(c - '0')
                      : (c >= 'a' && c <= 'f') ? (unsigned long)(c - 'a' + 10)
                      : (c >= 'A' && c <= 'F') ? (unsigned long)(c - 'A' + 10) : 16;
    if (d > 15) return 0;
    *out = *out * 16 + d;
  }
  return 1;
}

/* Decodes the JSON string [p, end) (quotes included) into `out` as UTF-8. 1 = ok. */
static int decode_string(const char* p, const char* end, buf* out) {
  if (end - p < 2 || *p != '"') return 0;
  for (++p, --end; p < end; ++p) {
    unsigned long cp, lo;
    if (*p != '\\') {
      buf_add(out, p, 1);
      continue;
    }
    if (++p == end) return 0;
    switch (*p) {
      case 'b': buf_adds(out, "\b"); break;
      case 'f': buf_adds(out, "\f"); break;
      case 'n': buf_adds(out, "\n"); break;
      case 'r': buf_adds(out, "\r"); break;
      case 't': buf_adds(out, "\t"); break;
      case 'u':
        if (!hex4(p + 1, end, &cp)) return 0;
        p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && end - p > 6 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, end, &lo) &&
            lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        }
        add_utf8(out, cp);
        break;
      default: buf_add(out, p, 1); /* \" \\ \/ */
    }
  }
  return !out->oom;
}

/* Appends `s` as a JSON string literal. */
static void add_json_string(buf* b, const char* s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i;
  buf_adds(b, "\"");
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2];
      e[0] = '\\';
      e[1] = (char)c;
      buf_add(b, e, 2);
    } else if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', 0, 0};
      e[4] = hex[c >> 4];
      e[5] = hex[c & 15];
      buf_add(b, e, 6);
    } else {
      buf_add(b, s + i, 1);
    }
  }
  buf_adds(b, "\"");
}

/* A non-negative integer value in [p, end); 1 = ok. */
static int parse_uint(const char* p, const char* end, unsigned long* out) {
  *out = 0;
  if (p == end) return 0;
  for (; p < end; ++p) {
    if (*p < '0' || *p > '9' || *out > 0xFFFFFFFFul / 10) return 0;
    *out = *out * 10 + (unsigned long)(*p - '0');
  }
  return *out <= 0xFFFFFFFFul;
}

/* ---- the instance -------------------------------------------------------------------- */

typedef struct pending {
  oaio_call* call;
  struct timespec due; /* CLOCK_MONOTONIC */
  struct pending* next;
} pending;

typedef struct echo {
  oaio_host* host;
  char* target;
  unsigned long delay_ms;
  unsigned long chunk_size;
  pthread_mutex_t mu;
  pthread_cond_t cv;          /* CLOCK_MONOTONIC */
  pending *head, *tail;       /* guarded by mu; FIFO = sorted by due (one delay for all) */
  int draining, stopping;     /* guarded by mu */
  int worker_started;         /* control thread only */
  pthread_t worker;
} echo;

static void now_plus(struct timespec* ts, unsigned long ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec += 1;
    ts->tv_nsec -= 1000000000L;
  }
}

static int due_now(const struct timespec* due) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > due->tv_sec || (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec);
}

static void fail_call(oaio_call* call, oaio_status code, const char* message, int32_t retryable, uint32_t retry_after) {
  oaio_error e;
  memset(&e, 0, sizeof e);
  e.struct_size = sizeof e;
  e.code = code;
  e.message = mkstr(message);
  e.retryable = retryable;
  e.retry_after_ms = retry_after;
  g_api->fail(call, &e);
}

static oaio_status code_from_name(const char* s, size_t n) {
  static const struct {
    const char* name;
    oaio_status code;
  } codes[] = {{"AGENT_TIMEOUT", OAIO_ERR_AGENT_TIMEOUT}, {"AGENT_UNAVAILABLE", OAIO_ERR_AGENT_UNAVAILABLE},
               {"BACKPRESSURE_DROP", OAIO_ERR_BACKPRESSURE}, {"TRANSPORT_FAILURE", OAIO_ERR_TRANSPORT},
               {"CODEC_FAILURE", OAIO_ERR_CODEC}, {"AUTH_FAILURE", OAIO_ERR_AUTH},
               {"INVALID_REQUEST", OAIO_ERR_INVALID_REQUEST}, {"NO_HANDLER", OAIO_ERR_NO_HANDLER},
               {"CANCELLED", OAIO_ERR_CANCELLED}, {"INTERNAL", OAIO_ERR_INTERNAL}};
  size_t i;
  for (i = 0; i < sizeof codes / sizeof codes[0]; ++i)
    if (strlen(codes[i].name) == n && !memcmp(codes[i].name, s, n)) return codes[i].code;
  return OAIO_OK;
}

/* Fails `call` as the payload's "fail" object [v, vend) asks. */
static void respond_fail(oaio_call* call, const char* v, const char* vend) {
  member m[4] = {{"code", NULL, NULL}, {"retryable", NULL, NULL}, {"retry_after_ms", NULL, NULL}, {"message", NULL, NULL}};
  const member *code_m = &m[0], *retryable_m = &m[1], *retry_after_m = &m[2], *message_m = &m[3];
  buf code = {0}, msg = {0};
  oaio_status status = OAIO_ERR_AGENT_UNAVAILABLE;
  int32_t retryable = -1;
  unsigned long retry_after = 0;
  (void)scan_payload(v, vend, m, 4); /* [v, vend) is a value of the already checked payload */
  if (code_m->v && *code_m->v == '"' && decode_string(code_m->v, code_m->vend, &code))
    status = code_from_name(code.data, code.len);
  if (retryable_m->v) retryable = *retryable_m->v == 't' ? 1 : *retryable_m->v == 'f' ? 0 : -1;
  if (retry_after_m->v && !parse_uint(retry_after_m->v, retry_after_m->vend, &retry_after)) retry_after = 0;
  if (!(message_m->v && *message_m->v == '"' && decode_string(message_m->v, message_m->vend, &msg)))
    buf_adds(&msg, ECHO_NAME ": failed as asked");
  buf_add(&msg, "", 1); /* NUL for fail_call */
  if (status == OAIO_OK)
    fail_call(call, OAIO_ERR_INVALID_REQUEST, ECHO_NAME ": unknown fail code", -1, 0);
  else if (msg.oom)
    fail_call(call, status, ECHO_NAME ": failed as asked", retryable, (uint32_t)retry_after);
  else
    fail_call(call, status, msg.data, retryable, (uint32_t)retry_after);
  free(code.data);
  free(msg.data);
}

/* Sends the whole reply of one call: stream frames, then complete or fail. */
static void respond(const echo* e, oaio_call* call) {
  oaio_call_info info;
  const char *p, *end;
  /* One pass over the payload validates it and finds both members. */
  member wanted[2] = {{"fail", NULL, NULL}, {"text", NULL, NULL}};
  const member *fail = &wanted[0], *text = &wanted[1];
  int blank;
  buf out = {0};
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  if (g_api->call_info(call, &info) != OAIO_OK) {
    fail_call(call, OAIO_ERR_INTERNAL, ECHO_NAME ": call_info failed", -1, 0);
    return;
  }
  p = info.payload.data;
  end = p + info.payload.len;
  blank = ws(p, end) == end;
  if (!blank && !scan_payload(p, end, wanted, 2)) {
    fail_call(call, OAIO_ERR_INVALID_REQUEST, ECHO_NAME ": payload is not valid JSON", -1, 0);
    return;
  }
  if (fail->v && *fail->v == '{') {
    respond_fail(call, fail->v, fail->vend);
    return;
  }
  if (info.is_stream) {
    g_api->stream_started(call, mkstr("{\"plugin\":\"" ECHO_NAME "\"}"));
    if (text->v && *text->v == '"') {
      buf chars = {0};
      if (decode_string(text->v, text->vend, &chars)) {
        size_t i = 0, start = 0;
        unsigned long count = 0;
        for (; i <= chars.len; ++i) {
          int lead = i == chars.len || ((unsigned char)chars.data[i] & 0xC0) != 0x80;
          if (lead && (count == e->chunk_size || (i == chars.len && count > 0))) {
            out.len = 0;
            buf_adds(&out, "{\"delta\":");
            add_json_string(&out, chars.data + start, i - start);
            buf_adds(&out, "}");
            if (!out.oom) g_api->stream_delta(call, buf_str(&out));
            start = i;
            count = 0;
          }
          if (lead) ++count;
        }
      }
      free(chars.data);
    }
  }
  out.len = 0;
  buf_reserve(&out, sizeof "{\"echo\":,\"plugin\":\"" ECHO_NAME "\"}" + (blank ? 4 : info.payload.len));
  buf_adds(&out, "{\"echo\":");
  if (blank)
    buf_adds(&out, "null");
  else
    buf_add(&out, info.payload.data, info.payload.len);
  buf_adds(&out, ",\"plugin\":\"" ECHO_NAME "\"}");
  if (out.oom)
    fail_call(call, OAIO_ERR_INTERNAL, ECHO_NAME ": out of memory", -1, 0);
  else
    g_api->complete(call, buf_str(&out));
  free(out.data);
}

/* The worker: replies to due calls in order until stop. */
static void* worker_main(void* arg) {
  echo* e = (echo*)arg;
  pthread_mutex_lock(&e->mu);
  while (!e->stopping) {
    pending* p = e->head;
    if (!p) {
      pthread_cond_wait(&e->cv, &e->mu);
      continue;
    }
    if (!due_now(&p->due)) {
      pthread_cond_timedwait(&e->cv, &e->mu, &p->due);
      continue;
    }
    e->head = p->next;
    if (!e->head) e->tail = NULL;
    pthread_mutex_unlock(&e->mu);
    respond(e, p->call); /* from this plugin-owned thread */
    free(p);
    pthread_mutex_lock(&e->mu);
    pthread_cond_broadcast(&e->cv); /* drain waits for an empty list */
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

/* ---- hooks ------------------------------------------------------------------------------ */

static oaio_status set_error(oaio_error* error, oaio_status code, const char* message) {
  if (OAIO_HAS_FIELD(error, oaio_error, code)) error->code = code;
  if (OAIO_HAS_FIELD(error, oaio_error, message)) error->message = mkstr(message); /* static */
  return code;
}

static void echo_free(echo* e) {
  pthread_cond_destroy(&e->cv);
  pthread_mutex_destroy(&e->mu);
  free(e->target);
  free(e);
}

/* Reads the config (validated by the host against kConfigSchema; refused again here if
 * unusable, with a static message). */
static oaio_status parse_config(echo* e, oaio_str config, oaio_error* error) {
  const char* p = config.data;
  const char* end = p + config.len;
  member m[3] = {{"delay_ms", NULL, NULL}, {"chunk_size", NULL, NULL}, {"target", NULL, NULL}};
  const member *delay = &m[0], *chunk = &m[1], *target_m = &m[2];
  buf target = {0};
  if (ws(p, end) == end) { /* no config: all defaults */
    p = "{}";
    end = p + 2;
  }
  if (*ws(p, end) != '{' || !scan_payload(p, end, m, 3))
    return set_error(error, OAIO_ERR_INVALID_REQUEST, ECHO_NAME ": config must be a JSON object");
  if (delay->v && !parse_uint(delay->v, delay->vend, &e->delay_ms))
    return set_error(error, OAIO_ERR_INVALID_REQUEST, ECHO_NAME ": delay_ms must be an integer >= 0");
  if (chunk->v && (!parse_uint(chunk->v, chunk->vend, &e->chunk_size) || e->chunk_size == 0))
    return set_error(error, OAIO_ERR_INVALID_REQUEST, ECHO_NAME ": chunk_size must be an integer >= 1");
  if (target_m->v) {
    if (*target_m->v != '"' || !decode_string(target_m->v, target_m->vend, &target) || target.len == 0) {
      free(target.data);
      return set_error(error, OAIO_ERR_INVALID_REQUEST, ECHO_NAME ": target must be a non-empty string");
    }
  } else {
    buf_adds(&target, "echo");
  }
  buf_add(&target, "", 1);
  if (target.oom) return set_error(error, OAIO_ERR_INTERNAL, ECHO_NAME ": out of memory");
  e->target = target.data;
  /* additionalProperties: false */
  p = ws(p, end) + 1;
  while ((p = ws(p, end)) < end && *p == '"') {
    const char* kend = skip_string(p, end);
    size_t n = (size_t)(kend - p);
    if (!((n == 8 && !memcmp(p, "\"target\"", 8)) || (n == 10 && !memcmp(p, "\"delay_ms\"", 10)) ||
          (n == 12 && !memcmp(p, "\"chunk_size\"", 12))))
      return set_error(error, OAIO_ERR_INVALID_REQUEST, ECHO_NAME ": unknown config key");
    p = ws(kend, end) + 1;
    p = ws(skip_value(p, end, 0), end);
    if (*p == ',') ++p;
  }
  return OAIO_OK;
}

static oaio_status echo_create(oaio_host* host, oaio_str config, void** instance, oaio_error* error) {
  pthread_condattr_t attr;
  oaio_target_desc t;
  oaio_status s;
  echo* e = (echo*)calloc(1, sizeof *e);
  if (!e) return set_error(error, OAIO_ERR_INTERNAL, ECHO_NAME ": out of memory");
  e->host = host;
  e->chunk_size = 16;
  pthread_mutex_init(&e->mu, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&e->cv, &attr);
  pthread_condattr_destroy(&attr);
  if ((s = parse_config(e, config, error)) != OAIO_OK) {
    echo_free(e);
    return s;
  }
  memset(&t, 0, sizeof t);
  t.struct_size = sizeof t;
  t.name = mkstr(e->target);
  t.flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM;
  t.description = mkstr("Echoes the payload back; streams its \"text\" in chunks (plain C example)");
  t.input_schema = mkstr(kInputSchema);
  t.user_data = e;
  if ((s = g_api->register_target(host, &t)) != OAIO_OK) {
    echo_free(e);
    return set_error(error, s, ECHO_NAME ": cannot register the target");
  }
  *instance = e;
  return OAIO_OK;
}

static oaio_status echo_start(void* instance, oaio_error* error) {
  echo* e = (echo*)instance;
  if (e->delay_ms == 0 || e->worker_started) return OAIO_OK;
  if (pthread_create(&e->worker, NULL, worker_main, e) != 0)
    return set_error(error, OAIO_ERR_INTERNAL, ECHO_NAME ": cannot start the worker thread");
  e->worker_started = 1;
  return OAIO_OK;
}

static oaio_status echo_drain(void* instance, uint32_t deadline_ms) {
  echo* e = (echo*)instance;
  struct timespec deadline;
  int idle;
  now_plus(&deadline, deadline_ms);
  pthread_mutex_lock(&e->mu);
  e->draining = 1;
  while (e->head && pthread_cond_timedwait(&e->cv, &e->mu, &deadline) == 0) {
  }
  idle = e->head == NULL;
  pthread_mutex_unlock(&e->mu);
  return idle ? OAIO_OK : OAIO_ERR_AGENT_TIMEOUT;
}

/* Joins the worker, then fails the calls still pending. */
static void echo_stop(void* instance) {
  echo* e = (echo*)instance;
  pending* left;
  pthread_mutex_lock(&e->mu);
  e->stopping = 1;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  if (e->worker_started) pthread_join(e->worker, NULL);
  e->worker_started = 0;
  pthread_mutex_lock(&e->mu);
  left = e->head;
  e->head = e->tail = NULL;
  pthread_mutex_unlock(&e->mu);
  while (left) {
    pending* next = left->next;
    fail_call(left->call, OAIO_ERR_AGENT_UNAVAILABLE, ECHO_NAME ": bridge stopped", -1, 0);
    free(left);
    left = next;
  }
}

static void echo_destroy(void* instance) { echo_free((echo*)instance); }

static oaio_status echo_call(void* instance, oaio_call* call, oaio_error* error) {
  echo* e = (echo*)instance;
  pending* p;
  if (e->delay_ms == 0) {
    respond(e, call);
    return OAIO_OK;
  }
  p = (pending*)calloc(1, sizeof *p);
  if (!p) return set_error(error, OAIO_ERR_INTERNAL, ECHO_NAME ": out of memory");
  p->call = call;
  now_plus(&p->due, e->delay_ms);
  pthread_mutex_lock(&e->mu);
  if (e->draining || e->stopping) {
    pthread_mutex_unlock(&e->mu);
    free(p);
    return set_error(error, OAIO_ERR_AGENT_UNAVAILABLE, ECHO_NAME ": bridge is draining");
  }
  if (e->tail)
    e->tail->next = p;
  else
    e->head = p;
  e->tail = p;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return OAIO_OK;
}

/* Takes the call out of the pending list (if the worker has not taken it) and fails it. */
static void echo_cancel(void* instance, oaio_call* call) {
  echo* e = (echo*)instance;
  pending *p, *prev = NULL;
  pthread_mutex_lock(&e->mu);
  for (p = e->head; p && p->call != call; p = p->next) prev = p;
  if (p) {
    if (prev)
      prev->next = p->next;
    else
      e->head = p->next;
    if (e->tail == p) e->tail = prev;
    pthread_cond_broadcast(&e->cv);
  }
  pthread_mutex_unlock(&e->mu);
  if (!p) return; /* already answered, or being answered by the worker right now */
  fail_call(call, OAIO_ERR_CANCELLED, ECHO_NAME ": cancelled", 0, 0);
  free(p);
}

/* The plugin's table: static, valid for the life of the process. */
static const oaio_plugin_api kTable = {
    .struct_size = sizeof(oaio_plugin_api),
    .abi_major = OAIO_PLUGIN_ABI_MAJOR,
    .abi_minor = 0, /* needs nothing newer than ABI 1.0 */
    .name = {ECHO_NAME, sizeof ECHO_NAME - 1},
    .version = {ECHO_VERSION, sizeof ECHO_VERSION - 1},
    .description = {ECHO_DESCRIPTION, sizeof ECHO_DESCRIPTION - 1},
    .flows = OAIO_FLOW_INVOKE | OAIO_FLOW_STREAM,
    .features = OAIO_FEATURE_CANCEL | OAIO_FEATURE_NONBLOCKING_CALL, /* delays run on our own thread */
    .config_schema = {kConfigSchema, sizeof kConfigSchema - 1},
    .manifest_types = {"", 0},
    .create = echo_create,
    .start = echo_start,
    .drain = echo_drain,
    .stop = echo_stop,
    .destroy = echo_destroy,
    .call = echo_call,
    .cancel = echo_cancel,
};

/* The one exported symbol. Every host API entry this plugin uses is ABI 1.0, which
 * every 1.x host provides, so no OAIO_HAS_FIELD checks are needed here. */
OAIO_PLUGIN_EXPORT const oaio_plugin_api* oaio_plugin_entry_v1(const oaio_host_api* host_api, uint32_t host_abi_minor) {
  (void)host_abi_minor;
  if (!host_api) return NULL;
  if (host_api->abi_major != OAIO_PLUGIN_ABI_MAJOR) {
    if (host_api->log) host_api->log(NULL, OAIO_LOG_ERROR, mkstr(ECHO_NAME ": built for ABI major 1"));
    return NULL;
  }
  g_api = host_api;
  return &kTable;
}
