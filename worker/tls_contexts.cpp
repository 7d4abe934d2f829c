// Building each ssl address's contexts and SNI selector from the config.

#include "worker/tls_contexts.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "core/tls/ktls.hpp"

namespace portico::worker {
namespace {

// What makes a session resumable on a server: a session from a context of another identity gets
// a full handshake (see Context::Options::identity). It must not depend on the process or the
// generation, so that a ticket resumes on any worker, before and after a reload: the names the
// server answers to and the certificates it shows describe it in every generation.
std::string identity_of(const conf::ServerConfig& server) {
    std::string id = fmt::format("names={}", fmt::join(server.server_names, ","));
    for (const core::tls::CertificatePaths& paths : server.tls->certificates) {
        id += fmt::format(";certificate={}", paths.certificate);
    }
    return id;
}

bool listens_on(const conf::ServerConfig& server, const conf::ListenAddress& address) {
    return std::find(server.listen.begin(), server.listen.end(), address) != server.listen.end();
}

}  // namespace

TlsContexts::TlsContexts(const conf::Config& config, core::tls::TicketKeyRing* tickets) {
    for (const conf::ListenAddress& address : conf::distinct_listen_addresses(config)) {
        if (address.ssl) add_address(config, address, tickets);
    }
}

void TlsContexts::add_address(const conf::Config& config, const conf::ListenAddress& address,
                              core::tls::TicketKeyRing* tickets) {
    Address built{address, {}, nullptr};
    std::vector<core::tls::SniSelector::Entry> entries;
    for (size_t i = 0; i < config.servers.size(); ++i) {
        const conf::ServerConfig& server = config.servers[i];
        if (!listens_on(server, address)) continue;
        if (!server.tls) {  // the loader requires the group with an ssl listener
            throw std::runtime_error(
                fmt::format("servers[{}] listens on {} ssl without a tls group", i, address.to_string()));
        }
        core::tls::Context::Options options;
        options.server = static_cast<uint32_t>(i);
        options.identity = identity_of(server);
        options.ring = tickets;
        options.ktls = core::tls::ktls_available();
        std::string error;
        auto context = core::tls::Context::create(*server.tls, options, error);
        if (!context) {
            throw std::runtime_error(
                fmt::format("TLS of servers[{}] on {} ssl: {}", i, address.to_string(), error));
        }
        entries.push_back({context.get(), server.server_names});
        built.contexts.push_back(std::move(context));
    }
    if (entries.empty()) return;  // no server listens here: the worker refuses the listener itself
    built.selector = std::make_unique<core::tls::SniSelector>(std::move(entries));
    addresses_.push_back(std::move(built));
}

SSL_CTX* TlsContexts::initial_context(const conf::ListenAddress& address) const noexcept {
    for (const Address& a : addresses_) {
        if (a.address == address) return a.selector->initial_context();
    }
    return nullptr;
}

}  // namespace portico::worker
