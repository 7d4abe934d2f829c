#pragma once
// One proxied request: the request head and body going upstream, the response coming back.
// It is the client connection's BodyStream (writing the response head once the upstream's has
// arrived, then the body) and its BodyReader (taking the request body as the client sends it),
// so the connection does all client I/O and the exchange all upstream I/O.
//
//   client body ──> send_ (bounded; full() pauses the client) ──> upstream socket
//   client      <── read() pulls ── in_ (one buffer; read from upstream only as the client drains)
//
// Memory per request: the upstream request head, at most kSendHigh bytes of body waiting to go up,
// one 16 KiB response buffer and the parsed response head.

#include <cstdint>
#include <memory>
#include <string>

#include "core/buffer.hpp"
#include "http/body_stream.hpp"
#include "http/proxy/balancer.hpp"
#include "http/proxy/proxy_runtime.hpp"
#include "http/proxy/request_head.hpp"
#include "http/proxy/response_body.hpp"
#include "http/proxy/response_parser.hpp"

namespace portico::http::proxy {

class ProxyExchange final : public BodyStream, public BodyReader {
public:
    /// Sets `reply` up to answer `ex` through the upstream the location's `route.proxy` names
    /// (or with a 502/500 when that cannot even start).
    static void start(Context& ctx, ProxyRuntime& rt, const Exchange& ex, const VirtualServer& vs,
                      const conf::RouteSettings& route, const routing::RequestVars& vars, size_t prefix,
                      HeaderWriter& hw, Reply& reply) noexcept;

    ProxyExchange(ProxyRuntime& rt, Group& group, const VirtualServer& vs, const conf::RouteSettings& route) noexcept;
    ~ProxyExchange() override;

    // BodyStream
    void attach(Connection& conn) noexcept override;
    bool head(Context& ctx, HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept override;
    Chunk read(Context& ctx, char* out, size_t cap) noexcept override;
    // BodyReader (attach is the same)
    void on_body(Context& ctx, std::string_view bytes) noexcept override;
    void on_body_end(Context& ctx) noexcept override;
    void on_body_drained(Context& ctx) noexcept override;
    [[nodiscard]] bool full() const noexcept override;
    // The WebSocket tunnel, after a 101 (proxy_tunnel.cpp)
    TunnelStep tunnel(Context& ctx, core::Buffer& early) noexcept override;
    TunnelStep relay(Context& ctx) noexcept override;
    bool detach(Context& ctx) noexcept override;

    void on_upstream_event(Context& ctx, uint32_t events) noexcept;
    void on_upstream_timeout(Context& ctx) noexcept;

    /// Bytes of request body held for the upstream beyond which the client is paused.
    static constexpr size_t kSendHigh = 64 * 1024;

private:
    enum class Phase : uint8_t { kSending, kHead, kBody, kDone, kFailed, kTunnel };

    void next_try(Context& ctx) noexcept;
    void begin_on(Context& ctx, UpstreamConn* c) noexcept;
    bool parse_head(Context& ctx) noexcept;
    void fail_try(Context& ctx, TryFailure why) noexcept;
    void give_up(Context& ctx, uint16_t status) noexcept;
    void flush(Context& ctx) noexcept;
    void read_head(Context& ctx) noexcept;
    void write_failed(Context& ctx) noexcept;
    void finish_upstream(bool reusable) noexcept;
    void arm(Context& ctx, int64_t ms) noexcept;
    void wake_client(Context& ctx) noexcept;
    void tunnel_timeout(Context& ctx) noexcept;
    Chunk read_error_page(char* out, size_t cap) noexcept;
    void release_all() noexcept;

    ProxyRuntime& rt_;
    Group& group_;
    const VirtualServer& vs_;              // its error pages answer our own failures
    core::PeerAddress peer_;               // the client, for those pages' access rules
    const conf::RouteSettings& route_;     // add_headers and expires for the upstream's answer
    const conf::ProxySettings& settings_;  // route_.proxy
    Connection* client_ = nullptr;
    UpstreamConn* up_ = nullptr;
    Phase phase_ = Phase::kSending;

    // Going up: the head, then the body as framed for the upstream.
    std::string head_;
    std::string send_;           // body bytes not yet written (from send_off_)
    size_t sent_ = 0;            // bytes of head_ + send_ written on the current try
    UpstreamBody framing_ = UpstreamBody::kNone;
    bool body_complete_ = false;  // the client's body has all arrived (framing closed)
    bool body_sent_any_ = false;  // some body byte went up (a retry may then be unsafe)
    bool idempotent_ = false;
    bool head_request_ = false;

    // Tries.
    TriedPeers tried_;
    uint32_t tries_ = 0;
    uint32_t max_tries_ = 1;
    uint32_t key_hash_ = 0;
    bool fresh_retry_done_ = false;
    bool write_broken_ = false;  // this try's write failed: only an answer already sent can save it

    // Coming back.
    core::Buffer in_;
    ResponseParser parser_;
    std::unique_ptr<ResponseHead> response_;
    ResponseBody body_;
    const char* pending_ = nullptr;  // body data in in_ not yet given to the client
    size_t pending_len_ = 0;
    bool head_ready_ = false;        // response_ holds a final head, its bytes at in_'s front
    bool upstream_eof_ = false;
    bool waiting_ = false;           // told the client kWait (or head() said not yet)
    bool discard_body_ = false;      // the upstream answered before the request body ended
    bool broken_ = false;            // the upstream failed mid-body: the client sees a cut
    bool in_client_call_ = false;    // inside on_body/on_body_end: do not call the client back
    bool attaching_ = false;         // the first try starts while the connection takes the stream
    uint16_t error_status_ = 0;      // Phase::kFailed: the answer
    CachedFile* error_page_ = nullptr;  // its page from the location's error_pages (referenced)
    size_t error_sent_ = 0;

    // A protocol upgrade (WebSocket): asked for by the client, granted by the upstream's 101. The
    // tunnel then relays in_ (upstream to client) and from_client_ (client to upstream), each
    // side's end passed on to the other as a half-close.
    bool upgrade_asked_ = false;
    bool upgrade_granted_ = false;
    bool client_eof_ = false;
    bool client_shut_ = false;       // our FIN (and close_notify) went to the client
    bool upstream_shut_ = false;     // our FIN went to the upstream
    core::Buffer from_client_;
};

}  // namespace portico::http::proxy
