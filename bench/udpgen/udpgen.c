/*
 * udpgen: a fixed-rate UDP load generator for SOCKS5 UDP relays (and the direct path as the reference).
 *
 *   udpgen --proxy 127.0.0.1:1080 --controls 10 --per-control 157 --rates 10000,25000,50000 \
 *          --step-seconds 2 --warmup-seconds 0.5 --payload 1200 --server-pid PID --label ks --json steps.jsonl
 *   udpgen --direct --controls 100 --rates 50000
 *
 * One process, three threads:
 *   - the pacing sender (main thread): every 1 ms tick it sends the datagrams due so far, round-robin over the
 *     associations, one non-blocking sendto each (EAGAIN counts as not sent);
 *   - the receiver: epoll over every client socket, recvmmsg per ready socket, header and payload checked,
 *     each sequence number marked once in a bitmap, round-trip times kept exactly and sorted at the step's end;
 *   - the echo target: its own socket on 127.0.0.1:0, recvmmsg/sendmmsg, every datagram back to its sender.
 *
 * Every association has its own client UDP socket on 127.0.0.1:0. Through a proxy: greeting 05 01 00, then
 * UDP ASSOCIATE with DST 127.0.0.1:<that socket's port>; each of C control connections sends M such requests in
 * one write (M > 1 is KestrelSocks' multi-association extension) and reads the M replies in order. Control
 * connections stay open for the whole run.
 *
 * Payload (after the 10-byte SOCKS UDP header, or alone in direct mode), little-endian:
 *   u32 step id, u32 association index, u64 sequence (global within the step), u64 send time (CLOCK_MONOTONIC ns),
 *   then a fixed pattern. A step's id is in every datagram, so late datagrams of an earlier step, and the step's
 *   own warm-up, never count.
 *
 * Server figures (--server-pid): CPU from /proc/<pid>/stat (utime+stime+cutime+cstime) summed over the process
 * tree, context switches from /proc/<pid>/task/<tid>/status summed over every thread of the tree; both are deltas
 * from the start of the measured window to the end of the drain.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_RATES 64
#define PAYLOAD_MIN 24
#define SOCKS_UDP_HEADER 10
#define RECV_BATCH 32
#define ECHO_BATCH 64
#define MAX_DGRAM 65507
#define SETUP_WINDOW 64
#define WARM_FLAG 0x80000000u

/* ---------------------------------------------------------------------------------------------------------- */
/* options                                                                                                    */

static struct {
    bool direct;
    struct sockaddr_in proxy;
    int controls;
    int per_control;
    long rates[MAX_RATES];
    int nrates;
    double step_seconds;
    double warmup_seconds;
    int payload;
    int server_pid;
    const char *label;
    const char *json;
    int sockbuf;
    int nice;
    bool verbose;
} opt = {
    .controls = 1,
    .per_control = 1,
    .step_seconds = 2.0,
    .warmup_seconds = 0.5,
    .payload = 1200,
    .label = "",
    .sockbuf = 4 << 20,
    .nice = -10,
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("udpgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void usage(FILE *out)
{
    fputs("usage: udpgen (--proxy HOST:PORT | --direct) [options]\n"
          "  --controls C           control connections (direct: groups of sockets), default 1\n"
          "  --per-control M        UDP ASSOCIATE requests pipelined on each control connection, default 1\n"
          "                         (M > 1 is KestrelSocks' extension; standard servers take only 1)\n"
          "  --rates R1,R2,...      offered aggregate rates, datagrams/s, one step each, default 10000\n"
          "  --step-seconds S       measured window per step, default 2\n"
          "  --warmup-seconds W     unmeasured sending at the step's rate before each window, default 0.5\n"
          "  --payload BYTES        bytes after the SOCKS UDP header (>= 24), default 1200\n"
          "  --server-pid PID       server process whose tree's CPU and context switches are measured\n"
          "  --label NAME           name in the table and the JSON\n"
          "  --json FILE            append one JSON object per step\n"
          "  --sockbuf BYTES        SO_RCVBUF/SO_SNDBUF of the generator's sockets, default 4194304\n"
          "  --nice N               the generator's nice value, default -10 (needs root; 0 leaves it), so that\n"
          "                         the pacer offers the rate even when the server takes every spare cycle\n"
          "  --verbose              set-up progress on stderr\n",
          out);
}

static double parse_double(const char *s, const char *name)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= 0))
        die("bad %s: %s", name, s);
    return v;
}

static long parse_long(const char *s, const char *name)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s)
        die("bad %s: %s", name, s);
    /* 10k / 25k style rates */
    if (*end == 'k' || *end == 'K') {
        v *= 1000;
        end++;
    }
    if (*end)
        die("bad %s: %s", name, s);
    return v;
}

static void parse_hostport(const char *s, struct sockaddr_in *sa)
{
    char host[256];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
        die("--proxy wants HOST:PORT, got %s", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    long port = parse_long(colon + 1, "port");
    if (port <= 0 || port > 65535)
        die("bad port in %s", s);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        die("cannot resolve %s (IPv4 only)", host);
    memcpy(sa, res->ai_addr, sizeof *sa);
    sa->sin_port = htons((uint16_t)port);
    freeaddrinfo(res);
}

static void parse_args(int argc, char **argv)
{
    bool have_target = false;
    opt.rates[0] = 10000;
    opt.nrates = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (die("%s needs a value", a), (char *)0))
        if (!strcmp(a, "--proxy")) {
            parse_hostport(NEXT(), &opt.proxy);
            have_target = true;
        } else if (!strcmp(a, "--direct")) {
            opt.direct = true;
            have_target = true;
        } else if (!strcmp(a, "--controls")) {
            opt.controls = (int)parse_long(NEXT(), a);
        } else if (!strcmp(a, "--per-control")) {
            opt.per_control = (int)parse_long(NEXT(), a);
        } else if (!strcmp(a, "--rates")) {
            char *list = strdup(NEXT()), *save = NULL;
            opt.nrates = 0;
            for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (opt.nrates == MAX_RATES)
                    die("too many rates");
                long r = parse_long(tok, "rate");
                if (r <= 0 || r > 10000000)
                    die("rate out of range: %s", tok);
                opt.rates[opt.nrates++] = r;
            }
            free(list);
            if (!opt.nrates)
                die("--rates is empty");
        } else if (!strcmp(a, "--step-seconds")) {
            opt.step_seconds = parse_double(NEXT(), a);
        } else if (!strcmp(a, "--warmup-seconds")) {
            opt.warmup_seconds = parse_double(NEXT(), a);
        } else if (!strcmp(a, "--payload")) {
            opt.payload = (int)parse_long(NEXT(), a);
        } else if (!strcmp(a, "--server-pid")) {
            opt.server_pid = (int)parse_long(NEXT(), a);
        } else if (!strcmp(a, "--label")) {
            opt.label = NEXT();
        } else if (!strcmp(a, "--json")) {
            opt.json = NEXT();
        } else if (!strcmp(a, "--sockbuf")) {
            opt.sockbuf = (int)parse_long(NEXT(), a);
        } else if (!strcmp(a, "--nice")) {
            opt.nice = (int)parse_long(NEXT(), a);
        } else if (!strcmp(a, "--verbose")) {
            opt.verbose = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            die("unknown option %s", a);
        }
#undef NEXT
    }
    if (!have_target) {
        usage(stderr);
        die("give --proxy HOST:PORT or --direct");
    }
    if (opt.controls < 1 || opt.per_control < 1 || (long)opt.controls * opt.per_control > 100000)
        die("--controls and --per-control must be >= 1 (at most 100,000 associations)");
    if (opt.payload < PAYLOAD_MIN || opt.payload > MAX_DGRAM - SOCKS_UDP_HEADER)
        die("--payload must be between %d and %d", PAYLOAD_MIN, MAX_DGRAM - SOCKS_UDP_HEADER);
    if (opt.step_seconds < 0.05 || opt.step_seconds > 600)
        die("--step-seconds must be between 0.05 and 600");
    if (opt.warmup_seconds > 60)
        die("--warmup-seconds must be at most 60");
}

/* ---------------------------------------------------------------------------------------------------------- */
/* small helpers                                                                                              */

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void sleep_ms(int ms)
{
    sleep_until(mono_ns() + (uint64_t)ms * 1000000u);
}

static inline void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static double cpu_seconds_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static long read_long_file(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* Big socket buffers so the generator is not where datagrams are lost: the *FORCE options pass rmem_max/wmem_max
 * as root; otherwise the kernel caps the plain ones at those limits. Returns the receive buffer the kernel set. */
static int set_buffers(int fd, int bytes)
{
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    int got = 0;
    socklen_t len = sizeof got;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
    return got;
}

static int udp_socket_loopback(struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket(UDP): %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("bind(127.0.0.1:0): %s", strerror(errno));
    socklen_t len = sizeof *bound;
    getsockname(fd, (struct sockaddr *)bound, &len);
    return fd;
}

static void raise_nofile(long need)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if ((long)rl.rlim_cur < need + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((long)rl.rlim_cur < need + 64)
        die("need about %ld file descriptors, the limit is %ld (ulimit -n)", need + 64, (long)rl.rlim_cur);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* associations                                                                                               */

struct assoc {
    int fd;                     /* client UDP socket, 127.0.0.1:0 */
    struct sockaddr_in local;   /* its address */
    struct sockaddr_in relay;   /* where its datagrams go: BND of the reply, or the echo in direct mode */
};

static struct assoc *assocs;
static int nassoc;
static int *control_fds;
static struct sockaddr_in echo_addr;
static int echo_fd;
static int client_rcvbuf;

/* Set while a further request's reply is awaited on a control connection: the likely cause when it never comes. */
static const char *reply_hint = "";

static void read_full(int fd, void *buf, size_t n, const char *what, int ctl)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0)
            die("control connection %d: the server closed it while we waited for %s%s", ctl, what, reply_hint);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            die("control connection %d: waited 10 s for %s%s", ctl, what, reply_hint);
        die("control connection %d: reading %s: %s", ctl, what, strerror(errno));
    }
}

static void send_full(int fd, const void *buf, size_t n, int ctl)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("control connection %d: send: %s", ctl, strerror(errno));
        }
        done += (size_t)r;
    }
}

static const char *rep_text(int rep)
{
    static const char *t[] = {"succeeded", "general failure", "not allowed by ruleset", "network unreachable",
                              "host unreachable", "connection refused", "TTL expired", "command not supported",
                              "address type not supported"};
    return rep >= 0 && rep <= 8 ? t[rep] : "unknown";
}

/* Reads one reply to UDP ASSOCIATE and fills a->relay from BND.ADDR:BND.PORT. */
static void read_associate_reply(int fd, int ctl, int k, struct assoc *a)
{
    uint8_t h[4];
    reply_hint = k > 0 ? "; more than one UDP ASSOCIATE per control connection is KestrelSocks' extension, "
                         "standard servers take --per-control 1"
                       : "";
    read_full(fd, h, 4, "the UDP ASSOCIATE reply", ctl);
    if (h[0] != 5)
        die("control connection %d: reply version %d, not 5", ctl, h[0]);
    if (h[1] != 0)
        die("control connection %d, request %d: REP %d (%s)%s", ctl, k + 1, h[1], rep_text(h[1]), reply_hint);
    struct sockaddr_in relay = {.sin_family = AF_INET};
    uint8_t port[2];
    if (h[3] == 1) {
        read_full(fd, &relay.sin_addr, 4, "BND.ADDR", ctl);
    } else if (h[3] == 4) {
        struct in6_addr a6;
        read_full(fd, &a6, 16, "BND.ADDR", ctl);
        if (IN6_IS_ADDR_V4MAPPED(&a6))
            memcpy(&relay.sin_addr, &a6.s6_addr[12], 4);
        else if (IN6_IS_ADDR_UNSPECIFIED(&a6))
            relay.sin_addr.s_addr = htonl(INADDR_ANY);
        else
            die("control connection %d: the relay is on an IPv6 address; udpgen's client sockets are IPv4 "
                "(configure the server's UDP address as 127.0.0.1)", ctl);
    } else if (h[3] == 3) {
        uint8_t len;
        char name[256];
        read_full(fd, &len, 1, "BND.ADDR", ctl);
        read_full(fd, name, len, "BND.ADDR", ctl);
        name[len] = 0;
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res;
        if (getaddrinfo(name, NULL, &hints, &res) != 0)
            die("control connection %d: cannot resolve BND.ADDR %s", ctl, name);
        relay.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
    } else {
        die("control connection %d: reply ATYP %d", ctl, h[3]);
    }
    read_full(fd, port, 2, "BND.PORT", ctl);
    memcpy(&relay.sin_port, port, 2);
    if (relay.sin_addr.s_addr == htonl(INADDR_ANY))
        relay.sin_addr = opt.proxy.sin_addr;
    if (relay.sin_port == 0)
        die("control connection %d: BND.PORT 0 in the UDP ASSOCIATE reply", ctl);
    a->relay = relay;
}

static void setup_associations(void)
{
    nassoc = opt.controls * opt.per_control;
    raise_nofile((long)nassoc + (opt.direct ? 0 : opt.controls) + 16);
    assocs = calloc((size_t)nassoc, sizeof *assocs);
    control_fds = calloc((size_t)opt.controls, sizeof *control_fds);
    if (!assocs || !control_fds)
        die("out of memory");
    for (int i = 0; i < nassoc; i++) {
        assocs[i].fd = udp_socket_loopback(&assocs[i].local);
        int got = set_buffers(assocs[i].fd, opt.sockbuf);
        if (i == 0)
            client_rcvbuf = got;
        int flags = fcntl(assocs[i].fd, F_GETFL);
        fcntl(assocs[i].fd, F_SETFL, flags | O_NONBLOCK);
        assocs[i].relay = echo_addr;
    }
    if (opt.direct)
        return;

    size_t reqlen = 10;
    uint8_t *req = malloc(reqlen * (size_t)opt.per_control);
    if (!req)
        die("out of memory");
    /* A window of control connections is in flight at once: the server works on several while we wait on one,
     * and its accept queue never holds more than the window. */
    for (int base = 0; base < opt.controls; base += SETUP_WINDOW) {
        int end = base + SETUP_WINDOW < opt.controls ? base + SETUP_WINDOW : opt.controls;
        for (int c = base; c < end; c++) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                die("socket(TCP): %s", strerror(errno));
            struct timeval tv = {.tv_sec = 10};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect(fd, (struct sockaddr *)&opt.proxy, sizeof opt.proxy) < 0)
                die("control connection %d: connect to %s:%d: %s", c, inet_ntoa(opt.proxy.sin_addr),
                    ntohs(opt.proxy.sin_port), strerror(errno));
            control_fds[c] = fd;
            static const uint8_t greeting[3] = {5, 1, 0};
            send_full(fd, greeting, sizeof greeting, c);
        }
        for (int c = base; c < end; c++) {
            uint8_t sel[2];
            read_full(control_fds[c], sel, 2, "the method selection", c);
            if (sel[0] != 5 || sel[1] != 0)
                die("control connection %d: method selection %02x %02x, want 05 00 (no authentication)", c, sel[0],
                    sel[1]);
            for (int k = 0; k < opt.per_control; k++) {
                struct assoc *a = &assocs[c * opt.per_control + k];
                uint8_t *r = req + reqlen * (size_t)k;
                r[0] = 5;
                r[1] = 3; /* UDP ASSOCIATE */
                r[2] = 0;
                r[3] = 1; /* IPv4 */
                memcpy(r + 4, &a->local.sin_addr, 4);
                memcpy(r + 8, &a->local.sin_port, 2);
            }
            send_full(control_fds[c], req, reqlen * (size_t)opt.per_control, c);
        }
        for (int c = base; c < end; c++)
            for (int k = 0; k < opt.per_control; k++)
                read_associate_reply(control_fds[c], c, k, &assocs[c * opt.per_control + k]);
        if (opt.verbose && (end % 256 == 0 || end == opt.controls))
            fprintf(stderr, "udpgen: %d of %d control connections set up\n", end, opt.controls);
    }
    free(req);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* echo target                                                                                                */

static atomic_bool stopping;

static void *echo_main(void *arg)
{
    (void)arg;
    static uint8_t bufs[ECHO_BATCH][MAX_DGRAM];
    struct mmsghdr msgs[ECHO_BATCH];
    struct iovec iov[ECHO_BATCH];
    struct sockaddr_storage from[ECHO_BATCH];
    while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
        for (int i = 0; i < ECHO_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = MAX_DGRAM;
            msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                              .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(echo_fd, msgs, ECHO_BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue; /* SO_RCVTIMEO: look at the stop flag */
        for (int i = 0; i < n; i++)
            iov[i].iov_len = msgs[i].msg_len;
        int done = 0;
        while (done < n) {
            int s = sendmmsg(echo_fd, msgs + done, (unsigned)(n - done), 0);
            if (s <= 0) {
                if (s < 0 && errno == EINTR)
                    continue;
                break; /* a datagram the kernel refuses is dropped, and shows as loss */
            }
            done += s;
        }
    }
    return NULL;
}

static void start_echo(pthread_t *thread)
{
    echo_fd = udp_socket_loopback(&echo_addr);
    set_buffers(echo_fd, opt.sockbuf * 2);
    struct timeval tv = {.tv_usec = 100000};
    setsockopt(echo_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (pthread_create(thread, NULL, echo_main, NULL))
        die("pthread_create(echo)");
}

/* ---------------------------------------------------------------------------------------------------------- */
/* receiver                                                                                                   */

/* Control word: odd = a step is being counted and its id is this value; even = paused. The receiver publishes
 * the control word it last finished a pass with, so the main thread knows when it may read and reset. */
static _Atomic uint32_t ctl_word;
static _Atomic uint32_t ctl_ack;
static _Atomic uint64_t rx_unique;

static struct {
    uint64_t *bitmap;      /* one bit per sequence number of the step */
    uint32_t *rtt_ns;      /* one entry per unique datagram */
    uint64_t capacity;     /* sequence numbers the arrays hold */
    uint64_t unique;
    uint64_t duplicates;
    uint64_t corrupt;
    uint64_t misrouted;
    uint64_t stale;        /* an earlier step's, or this step's warm-up */
    uint64_t last_arrival;
} rx;

static uint8_t *pattern; /* the payload's fixed part, bytes [PAYLOAD_MIN, payload) */
static int dgram_len;    /* header + payload */
static int payload_off;  /* 0 in direct mode, 10 through a proxy */

static void fill_pattern(void)
{
    pattern = malloc((size_t)opt.payload);
    if (!pattern)
        die("out of memory");
    for (int i = 0; i < opt.payload; i++)
        pattern[i] = (uint8_t)(i * 131 + 17);
}

static inline void account(int assoc_of_socket, const uint8_t *d, unsigned len, uint32_t step, uint64_t now)
{
    if (len != (unsigned)dgram_len) {
        rx.corrupt++;
        return;
    }
    if (payload_off) {
        /* RSV 00 00, FRAG 0, ATYP 1, the echo's address and port: the relay rewrote the header for the reply. */
        if (d[0] || d[1] || d[2] || d[3] != 1 || memcmp(d + 4, &echo_addr.sin_addr, 4) ||
            memcmp(d + 8, &echo_addr.sin_port, 2)) {
            rx.corrupt++;
            return;
        }
    }
    const uint8_t *p = d + payload_off;
    uint32_t id = get_u32(p);
    if (id != step) {
        rx.stale++;
        return;
    }
    uint32_t a = get_u32(p + 4);
    uint64_t seq = get_u64(p + 8);
    uint64_t sent = get_u64(p + 16);
    if (seq >= rx.capacity || a >= (uint32_t)nassoc || seq % (uint64_t)nassoc != a ||
        memcmp(p + PAYLOAD_MIN, pattern + PAYLOAD_MIN, (size_t)(opt.payload - PAYLOAD_MIN))) {
        rx.corrupt++;
        return;
    }
    if ((int)a != assoc_of_socket) {
        rx.misrouted++;
        return;
    }
    uint64_t bit = 1ull << (seq & 63);
    if (rx.bitmap[seq >> 6] & bit) {
        rx.duplicates++;
        return;
    }
    rx.bitmap[seq >> 6] |= bit;
    uint64_t rtt = now > sent ? now - sent : 0;
    rx.rtt_ns[rx.unique++] = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
    rx.last_arrival = now;
}

static void *receiver_main(void *arg)
{
    (void)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));
    for (int i = 0; i < nassoc; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, assocs[i].fd, &ev) < 0)
            die("epoll_ctl: %s", strerror(errno));
    }
    int maxev = nassoc < 256 ? nassoc : 256;
    struct epoll_event *evs = calloc((size_t)maxev, sizeof *evs);
    static uint8_t bufs[RECV_BATCH][MAX_DGRAM];
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    for (int i = 0; i < RECV_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = MAX_DGRAM;
    }
    while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
        uint32_t step = atomic_load_explicit(&ctl_word, memory_order_acquire);
        int n = epoll_wait(ep, evs, maxev, 5);
        for (int e = 0; e < n; e++) {
            int a = (int)evs[e].data.u32;
            for (int i = 0; i < RECV_BATCH; i++)
                msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
            int got = recvmmsg(assocs[a].fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
            if (got <= 0)
                continue;
            if (!(step & 1))
                continue; /* paused: drained, not counted; rx belongs to the main thread */
            uint64_t now = mono_ns();
            for (int i = 0; i < got; i++)
                account(a, bufs[i], msgs[i].msg_len, step, now);
        }
        if (step & 1)
            atomic_store_explicit(&rx_unique, rx.unique, memory_order_relaxed);
        atomic_store_explicit(&ctl_ack, step, memory_order_release);
    }
    free(evs);
    close(ep);
    return NULL;
}

/* Moves the control word on and waits until the receiver has finished a pass under the new one. */
static void set_ctl(uint32_t word)
{
    atomic_store_explicit(&ctl_word, word, memory_order_release);
    uint64_t deadline = mono_ns() + 5000000000ull;
    while (atomic_load_explicit(&ctl_ack, memory_order_acquire) != word) {
        if (mono_ns() > deadline)
            die("the receiver thread does not answer");
        sleep_ms(1);
    }
}

/* ---------------------------------------------------------------------------------------------------------- */
/* server process tree: CPU and context switches                                                              */

struct server_sample {
    double cpu_s;
    uint64_t ctxsw;
    int procs;
    int threads;
    bool alive;
};

/* Reads /proc/<pid>/stat: ppid, and utime+stime+cutime+cstime in ticks (cutime/cstime hold reaped children). */
static bool read_stat(int pid, int *ppid, uint64_t *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return false;
    /* after ") ": state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) cutime(16) cstime(17) */
    char state;
    int pp;
    unsigned long long f[13];
    if (sscanf(p + 2, "%c %d %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &state, &pp, &f[0],
               &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11], &f[12]) != 15)
        return false;
    *ppid = pp;
    *ticks = f[9] + f[10] + f[11] + f[12];
    return true;
}

static uint64_t task_ctxsw(int pid, int *threads)
{
    char path[96], line[256];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t sum = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/status", pid, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        (*threads)++;
        while (fgets(line, sizeof line, f)) {
            unsigned long long v;
            if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
                sum += v;
        }
        fclose(f);
    }
    closedir(d);
    return sum;
}

static struct server_sample sample_server(int root)
{
    struct server_sample s = {0};
    if (root <= 0)
        return s;
    /* Every process on the machine with its parent, then the tree below root. */
    size_t cap = 1024, n = 0;
    int *pids = malloc(cap * sizeof *pids), *ppids = malloc(cap * sizeof *ppids);
    uint64_t *ticks = malloc(cap * sizeof *ticks);
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        int pid = atoi(de->d_name), pp;
        uint64_t t;
        if (!read_stat(pid, &pp, &t))
            continue;
        if (n == cap) {
            cap *= 2;
            pids = realloc(pids, cap * sizeof *pids);
            ppids = realloc(ppids, cap * sizeof *ppids);
            ticks = realloc(ticks, cap * sizeof *ticks);
        }
        pids[n] = pid;
        ppids[n] = pp;
        ticks[n] = t;
        n++;
    }
    if (d)
        closedir(d);
    int *tree = malloc((n + 1) * sizeof *tree), ntree = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (pids[i] == root) {
            tree[ntree++] = root;
            total += ticks[i];
            s.alive = true;
        }
    for (int t = 0; t < ntree; t++)
        for (size_t i = 0; i < n; i++)
            if (ppids[i] == tree[t] && pids[i] != root) {
                tree[ntree++] = pids[i];
                total += ticks[i];
            }
    s.procs = ntree;
    for (int t = 0; t < ntree; t++)
        s.ctxsw += task_ctxsw(tree[t], &s.threads);
    s.cpu_s = (double)total / (double)sysconf(_SC_CLK_TCK);
    free(pids);
    free(ppids);
    free(ticks);
    free(tree);
    return s;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* socket drops (/proc/net/udp, udp6): where datagrams were lost on this machine                              */

enum { ROLE_NONE, ROLE_CLIENT, ROLE_ECHO, ROLE_RELAY };
static uint8_t port_role[65536];

struct drop_entry {
    unsigned long inode;
    uint64_t drops;
    uint8_t role;
};

struct drop_table {
    struct drop_entry *e;
    size_t n, cap;
};

static void read_drops_file(const char *path, bool v6, struct drop_table *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char local[64];
        unsigned port;
        unsigned long inode;
        unsigned long long drops;
        /* sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops */
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        if (sscanf(colon + 1, " %63[0-9A-Fa-f]:%x %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %llu", local, &port,
                   &inode, &drops) != 4)
            continue;
        bool loop = v6 ? !strcasecmp(local, "0000000000000000FFFF00000100007F") : !strcasecmp(local, "0100007F");
        /* A wildcard-bound socket counts when its port is one of this run's (a relay's shared port bound to ::
         * or 0.0.0.0 receives the clients' loopback datagrams); other wildcard sockets are not loopback's. */
        bool any = v6 ? !strcasecmp(local, "00000000000000000000000000000000") : !strcasecmp(local, "00000000");
        if (port > 65535 || !(loop || (any && port_role[port] != ROLE_NONE)))
            continue;
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 4096;
            t->e = realloc(t->e, t->cap * sizeof *t->e);
        }
        t->e[t->n++] = (struct drop_entry){.inode = inode, .drops = drops, .role = port_role[port]};
    }
    fclose(f);
}

static int cmp_inode(const void *a, const void *b)
{
    unsigned long x = ((const struct drop_entry *)a)->inode, y = ((const struct drop_entry *)b)->inode;
    return x < y ? -1 : x > y;
}

static struct drop_table read_drops(void)
{
    struct drop_table t = {0};
    read_drops_file("/proc/net/udp", false, &t);
    read_drops_file("/proc/net/udp6", true, &t);
    if (t.n)
        qsort(t.e, t.n, sizeof *t.e, cmp_inode);
    return t;
}

/* Drops since `before`, by the role of the socket's port: out[ROLE_*]; ROLE_NONE is any other loopback socket
 * (the server's sockets towards the echo, and whatever else runs on the machine). */
static void drops_delta(const struct drop_table *before, const struct drop_table *after, uint64_t out[4])
{
    out[0] = out[1] = out[2] = out[3] = 0;
    size_t j = 0;
    for (size_t i = 0; i < after->n; i++) {
        uint64_t was = 0;
        while (j < before->n && before->e[j].inode < after->e[i].inode)
            j++;
        if (j < before->n && before->e[j].inode == after->e[i].inode)
            was = before->e[j].drops;
        uint64_t d = after->e[i].drops > was ? after->e[i].drops - was : 0;
        out[after->e[i].role] += d;
    }
}

/* The backlog of loopback's per-CPU input queue (net.core.netdev_max_backlog) drops here: second column. */
static uint64_t softnet_drops(void)
{
    FILE *f = fopen("/proc/net/softnet_stat", "r");
    uint64_t sum = 0;
    if (!f)
        return 0;
    unsigned long long processed, dropped;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%llx %llx", &processed, &dropped) == 2)
            sum += dropped;
    fclose(f);
    return sum;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* sender                                                                                                     */

struct send_result {
    uint64_t attempted; /* datagrams the pacer tried to send */
    uint64_t sent;      /* the kernel took them */
    uint64_t eagain;    /* EAGAIN/ENOBUFS: not sent */
    uint64_t errors;    /* any other error: not sent */
    uint64_t late_ticks;/* ticks that woke more than 1 ms late */
    double seconds;     /* from the first tick to the last send */
    bool behind;        /* could not keep within 1 % of the offered rate */
};

static uint8_t *sendbuf;

/* Paces `rate` datagrams/s for `seconds`, with `id` in every datagram and sequence numbers from 0. */
static struct send_result pace(long rate, double seconds, uint32_t id)
{
    struct send_result r = {0};
    const uint64_t total = (uint64_t)llround((double)rate * seconds);
    const uint64_t window = (uint64_t)llround(seconds * 1e9);
    const uint64_t tick = 1000000;
    const uint64_t slack = (uint64_t)rate / 1000 + 1; /* one tick's worth */
    uint8_t *p = sendbuf + payload_off;
    put_u32(p, id);
    const uint64_t t0 = mono_ns();
    uint64_t next = t0 + tick, g = 0, now = t0;
    for (;;) {
        now = mono_ns();
        uint64_t elapsed = now - t0;
        bool last = elapsed >= window;
        uint64_t due = last ? total : (uint64_t)((double)rate * (double)elapsed / 1e9);
        if (last && total - g > slack)
            due = g; /* more than a tick behind: no backlog flushed as one burst at the end */
        while (g < due) {
            struct assoc *a = &assocs[g % (uint64_t)nassoc];
            put_u32(p + 4, (uint32_t)(g % (uint64_t)nassoc));
            put_u64(p + 8, g);
            put_u64(p + 16, mono_ns());
            ssize_t s = sendto(a->fd, sendbuf, (size_t)dgram_len, MSG_DONTWAIT, (struct sockaddr *)&a->relay,
                               sizeof a->relay);
            if (s == dgram_len)
                r.sent++;
            else if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
                r.eagain++;
            else
                r.errors++;
            g++;
            /* a sender that has fallen far behind still stops on time */
            if ((g & 63) == 0 && !last && mono_ns() - t0 >= window)
                break;
        }
        if (last)
            break;
        if (g < due) {
            continue;
        }
        if (now > next + tick)
            r.late_ticks++;
        if (next <= now)
            next = now + tick - (now - t0) % tick; /* skip missed ticks, stay on the grid */
        sleep_until(next);
        next += tick;
    }
    r.attempted = g;
    r.seconds = (double)(mono_ns() - t0) / 1e9;
    if ((double)r.attempted < 0.99 * (double)total)
        r.behind = true;
    return r;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* a step                                                                                                     */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const uint32_t *sorted, uint64_t n, double p)
{
    if (!n)
        return NAN;
    uint64_t rank = (uint64_t)ceil(p * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1] / 1000.0;
}

static void json_num(FILE *f, const char *key, double v, bool comma)
{
    if (isnan(v) || isinf(v))
        fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(f, "\"%s\":%.0f%s", key, v, comma ? "," : "");
    else
        fprintf(f, "\"%s\":%.7g%s", key, v, comma ? "," : "");
}

static void json_str(FILE *f, const char *key, const char *v)
{
    fprintf(f, "\"%s\":\"", key);
    for (const char *c = v; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', f);
        if ((unsigned char)*c >= 0x20)
            fputc(*c, f);
    }
    fputs("\",", f);
}

static uint32_t next_step_id = 1;
static int generator_nice;
static bool header_printed;

static void run_step(long rate)
{
    /* paused: reset the receiver's arrays */
    uint32_t id = next_step_id;
    next_step_id += 2;
    uint64_t cap = (uint64_t)llround((double)rate * opt.step_seconds) + 64;
    if (cap > rx.capacity) {
        free(rx.bitmap);
        free(rx.rtt_ns);
        rx.bitmap = calloc((size_t)(cap / 64 + 1), sizeof *rx.bitmap);
        rx.rtt_ns = malloc((size_t)cap * sizeof *rx.rtt_ns);
        if (!rx.bitmap || !rx.rtt_ns)
            die("out of memory for %" PRIu64 " datagrams per step", cap);
        rx.capacity = cap;
    } else {
        memset(rx.bitmap, 0, (size_t)(rx.capacity / 64 + 1) * sizeof *rx.bitmap);
    }
    rx.unique = rx.duplicates = rx.corrupt = rx.misrouted = rx.stale = 0;
    rx.last_arrival = 0;
    atomic_store(&rx_unique, 0);
    set_ctl(id);

    struct send_result warm = {0};
    if (opt.warmup_seconds > 0)
        warm = pace(rate, opt.warmup_seconds, id | WARM_FLAG);

    struct server_sample s0 = sample_server(opt.server_pid);
    struct drop_table d0 = read_drops();
    uint64_t soft0 = softnet_drops();
    double gen0 = cpu_seconds_self();

    struct send_result sr = pace(rate, opt.step_seconds, id);

    /* drain: until every datagram is back, or 300 ms without progress, or 2 s */
    uint64_t end_send = mono_ns(), last_progress = end_send, seen = 0;
    for (;;) {
        uint64_t u = atomic_load_explicit(&rx_unique, memory_order_relaxed);
        uint64_t now = mono_ns();
        if (u >= sr.sent)
            break;
        if (u != seen) {
            seen = u;
            last_progress = now;
        }
        if (now - last_progress >= 300000000ull || now - end_send >= 2000000000ull)
            break;
        sleep_ms(2);
    }
    uint64_t drain_ns = mono_ns() - end_send;
    double window_s = (double)(mono_ns() - end_send) / 1e9 + sr.seconds;

    double gen1 = cpu_seconds_self();
    struct server_sample s1 = sample_server(opt.server_pid);
    struct drop_table d1 = read_drops();
    uint64_t soft1 = softnet_drops();

    set_ctl(id + 1); /* paused: the arrays are ours */

    uint64_t drops[4];
    drops_delta(&d0, &d1, drops);
    free(d0.e);
    free(d1.e);

    uint64_t n = rx.unique;
    qsort(rx.rtt_ns, (size_t)n, sizeof *rx.rtt_ns, cmp_u32);
    double p50 = pct_us(rx.rtt_ns, n, 0.50), p99 = pct_us(rx.rtt_ns, n, 0.99);
    double pmax = n ? rx.rtt_ns[n - 1] / 1000.0 : NAN;
    double sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += rx.rtt_ns[i];
    double mean = n ? sum / (double)n / 1000.0 : NAN;

    uint64_t lost = sr.sent > n ? sr.sent - n : 0;
    double loss_pct = sr.sent ? 100.0 * (double)lost / (double)sr.sent : NAN;
    double delivered_rate = (double)n / opt.step_seconds;
    bool have_server = opt.server_pid > 0 && s0.alive && s1.alive;
    double cpu = have_server ? s1.cpu_s - s0.cpu_s : NAN;
    double us_per = have_server && n ? cpu * 1e6 / (double)n : NAN;
    double per_cpu_s = have_server && cpu > 0 ? (double)n / cpu : NAN;
    double ctx = have_server ? (double)(s1.ctxsw - s0.ctxsw) : NAN;
    double ctx_per = have_server && n ? ctx / (double)n : NAN;
    double gen_us_per = n ? (gen1 - gen0) * 1e6 / (double)n : NAN;
    if (opt.server_pid > 0 && !have_server)
        fprintf(stderr, "udpgen: server pid %d is not running\n", opt.server_pid);

    if (!header_printed) {
        printf("%-14s %6s %8s %9s %9s %9s %9s %7s %8s %8s %9s %8s %10s %7s %s\n", "label", "assocs", "layout",
               "offered/s", "sent", "received", "deliv/s", "loss%", "p50us", "p99us", "maxus", "srv-us/d", "d/srv-cpu-s",
               "ctx/d", "notes");
        header_printed = true;
    }
    char layout[32], notes[160] = "";
    snprintf(layout, sizeof layout, "%dx%d", opt.controls, opt.per_control);
    if (sr.behind)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "sender-behind(%.0f/s) ",
                 (double)sr.attempted / opt.step_seconds);
    if (sr.eagain || sr.errors)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "not-sent=%" PRIu64 " ", sr.eagain + sr.errors);
    if (rx.corrupt || rx.misrouted)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "corrupt=%" PRIu64 " misrouted=%" PRIu64 " ",
                 rx.corrupt, rx.misrouted);
    if (rx.duplicates)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "dup=%" PRIu64 " ", rx.duplicates);
    if (drops[ROLE_CLIENT] || drops[ROLE_ECHO] || drops[ROLE_RELAY] || drops[ROLE_NONE])
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes),
                 "drops client/echo/relay/other=%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 " ", drops[ROLE_CLIENT],
                 drops[ROLE_ECHO], drops[ROLE_RELAY], drops[ROLE_NONE]);
    printf("%-14s %6d %8s %9ld %9" PRIu64 " %9" PRIu64 " %9.0f %7.3f %8.1f %8.1f %9.1f %8.2f %10.0f %7.3f %s\n",
           opt.label[0] ? opt.label : (opt.direct ? "direct" : "proxy"), nassoc, layout, rate, sr.sent, n,
           delivered_rate, loss_pct, p50, p99, pmax, us_per, per_cpu_s, ctx_per, notes);
    fflush(stdout);

    if (opt.json) {
        FILE *f = fopen(opt.json, "a");
        if (!f)
            die("cannot open %s: %s", opt.json, strerror(errno));
        fputc('{', f);
        json_str(f, "label", opt.label);
        json_str(f, "target", opt.direct ? "direct" : "proxy");
        json_str(f, "layout", layout);
        json_num(f, "controls", opt.controls, true);
        json_num(f, "per_control", opt.per_control, true);
        json_num(f, "associations", nassoc, true);
        json_num(f, "payload", opt.payload, true);
        json_num(f, "datagram_bytes", dgram_len, true);
        json_num(f, "offered_rate", (double)rate, true);
        json_num(f, "step_seconds", opt.step_seconds, true);
        json_num(f, "warmup_seconds", opt.warmup_seconds, true);
        json_num(f, "warmup_sent", (double)warm.sent, true);
        json_num(f, "attempted", (double)sr.attempted, true);
        json_num(f, "sent", (double)sr.sent, true);
        json_num(f, "not_sent_eagain", (double)sr.eagain, true);
        json_num(f, "not_sent_errors", (double)sr.errors, true);
        fprintf(f, "\"sender_behind\":%s,", sr.behind ? "true" : "false");
        json_num(f, "sender_rate", (double)sr.attempted / sr.seconds, true);
        json_num(f, "sender_late_ticks", (double)sr.late_ticks, true);
        json_num(f, "received", (double)n, true);
        json_num(f, "duplicates", (double)rx.duplicates, true);
        json_num(f, "corrupt", (double)rx.corrupt, true);
        json_num(f, "misrouted", (double)rx.misrouted, true);
        json_num(f, "stale", (double)rx.stale, true);
        json_num(f, "lost", (double)lost, true);
        json_num(f, "loss_pct", loss_pct, true);
        json_num(f, "delivered_rate", delivered_rate, true);
        json_num(f, "rtt_p50_us", p50, true);
        json_num(f, "rtt_p99_us", p99, true);
        json_num(f, "rtt_max_us", pmax, true);
        json_num(f, "rtt_mean_us", mean, true);
        json_num(f, "drain_ms", (double)drain_ns / 1e6, true);
        json_num(f, "window_seconds", window_s, true);
        json_num(f, "server_pid", opt.server_pid, true);
        json_num(f, "server_processes", have_server ? s1.procs : NAN, true);
        json_num(f, "server_threads", have_server ? s1.threads : NAN, true);
        json_num(f, "server_cpu_seconds", cpu, true);
        json_num(f, "server_cpu_us_per_dgram", us_per, true);
        json_num(f, "dgrams_per_server_cpu_second", per_cpu_s, true);
        json_num(f, "server_ctx_switches", ctx, true);
        json_num(f, "server_ctx_switches_per_dgram", ctx_per, true);
        json_num(f, "generator_cpu_us_per_dgram", gen_us_per, true);
        json_num(f, "drops_client_sockets", (double)drops[ROLE_CLIENT], true);
        json_num(f, "drops_echo_socket", (double)drops[ROLE_ECHO], true);
        json_num(f, "drops_generator_sockets", (double)(drops[ROLE_CLIENT] + drops[ROLE_ECHO]), true);
        json_num(f, "drops_relay_sockets", (double)drops[ROLE_RELAY], true);
        json_num(f, "drops_other_loopback_sockets", (double)drops[ROLE_NONE], true);
        json_num(f, "drops_softnet_backlog", (double)(soft1 - soft0), true);
        json_num(f, "generator_nice", generator_nice, true);
        json_num(f, "client_rcvbuf", client_rcvbuf, true);
        json_num(f, "rmem_max", (double)read_long_file("/proc/sys/net/core/rmem_max"), false);
        fputs("}\n", f);
        fclose(f);
    }
}

/* ---------------------------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    payload_off = opt.direct ? 0 : SOCKS_UDP_HEADER;
    dgram_len = payload_off + opt.payload;
    fill_pattern();

    long rmem_max = read_long_file("/proc/sys/net/core/rmem_max");
    if (rmem_max >= 0 && rmem_max < opt.sockbuf && geteuid() != 0)
        fprintf(stderr, "udpgen: net.core.rmem_max is %ld, below --sockbuf %d, and we are not root: the kernel caps "
                        "the generator's receive buffers at %ld\n", rmem_max, opt.sockbuf, rmem_max);

    /* Linux's nice is per thread: set it before any thread starts, so the echo and the receiver inherit it. */
    if (opt.nice && setpriority(PRIO_PROCESS, 0, opt.nice) < 0)
        fprintf(stderr, "udpgen: cannot set nice %d (%s); the generator runs at nice %d\n", opt.nice,
                strerror(errno), getpriority(PRIO_PROCESS, 0));
    generator_nice = getpriority(PRIO_PROCESS, 0);

    pthread_t echo_thread, rx_thread;
    start_echo(&echo_thread);
    setup_associations();
    port_role[ntohs(echo_addr.sin_port)] = ROLE_ECHO;
    for (int i = 0; i < nassoc; i++) {
        port_role[ntohs(assocs[i].local.sin_port)] = ROLE_CLIENT;
        if (!opt.direct)
            port_role[ntohs(assocs[i].relay.sin_port)] = ROLE_RELAY;
    }

    sendbuf = malloc((size_t)dgram_len);
    if (!sendbuf)
        die("out of memory");
    if (payload_off) {
        sendbuf[0] = sendbuf[1] = sendbuf[2] = 0;
        sendbuf[3] = 1;
        memcpy(sendbuf + 4, &echo_addr.sin_addr, 4);
        memcpy(sendbuf + 8, &echo_addr.sin_port, 2);
    }
    memcpy(sendbuf + payload_off, pattern, (size_t)opt.payload);

    if (opt.verbose)
        fprintf(stderr, "udpgen: %d associations (%dx%d), echo on 127.0.0.1:%d, client SO_RCVBUF %d, rmem_max %ld\n",
                nassoc, opt.controls, opt.per_control, ntohs(echo_addr.sin_port), client_rcvbuf, rmem_max);

    atomic_store(&ctl_word, 0);
    atomic_store(&ctl_ack, UINT32_MAX);
    if (pthread_create(&rx_thread, NULL, receiver_main, NULL))
        die("pthread_create(receiver)");
    set_ctl(0);

    for (int i = 0; i < opt.nrates; i++)
        run_step(opt.rates[i]);

    atomic_store(&stopping, true);
    pthread_join(rx_thread, NULL);
    pthread_join(echo_thread, NULL);
    for (int c = 0; !opt.direct && c < opt.controls; c++)
        close(control_fds[c]);
    for (int i = 0; i < nassoc; i++)
        close(assocs[i].fd);
    close(echo_fd);
    return 0;
}
