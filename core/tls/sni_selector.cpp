// The servername callback: a linear search over the names of one address's servers (configs
// have a few), once per handshake.

#include "core/tls/sni_selector.hpp"

#include <strings.h>

#include "core/tls/context.hpp"

namespace portico::core::tls {
namespace {

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

SniSelector::SniSelector(std::vector<Entry> entries) : entries_(std::move(entries)) {
    SSL_CTX* initial = initial_context();
    SSL_CTX_set_tlsext_servername_callback(initial, &SniSelector::on_servername);
    SSL_CTX_set_tlsext_servername_arg(initial, this);
}

SSL_CTX* SniSelector::initial_context() const noexcept {
    return entries_.front().context->get();
}

const SniSelector::Entry& SniSelector::select(std::string_view name) const noexcept {
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    for (const Entry& entry : entries_) {
        for (const std::string& candidate : entry.names) {
            if (same_name(candidate, name)) {
                return entry;
            }
        }
    }
    return entries_.front();
}

uint32_t SniSelector::chosen_server(const SSL* ssl) noexcept {
    const Context* context = Context::from(SSL_get_SSL_CTX(ssl));
    return context != nullptr ? context->server() : 0;
}

// Called for every ClientHello, with or without a server_name. Switching the SSL_CTX moves the
// connection to that server's certificates and settings before OpenSSL answers.
int SniSelector::on_servername(SSL* ssl, int*, void* arg) {
    const auto* self = static_cast<const SniSelector*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const Entry& entry = self->select(name != nullptr ? std::string_view{name} : std::string_view{});
    SSL_CTX* chosen = entry.context->get();
    if (chosen != SSL_get_SSL_CTX(ssl)) {
        SSL_set_SSL_CTX(ssl, chosen);
        // SSL_set_SSL_CTX swaps certificates only; options (tickets on or off) were copied from
        // the first context by SSL_new. The protocol version is already chosen at this point,
        // so servers sharing an address should share `protocols` (conf/ checks that).
        SSL_clear_options(ssl, SSL_get_options(ssl) ^ SSL_CTX_get_options(chosen));
        SSL_set_options(ssl, SSL_CTX_get_options(chosen));
    }
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace portico::core::tls
