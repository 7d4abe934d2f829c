// The ClientHello callback: a linear search over the names of one address's servers (configs
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
    SSL_CTX_set_client_hello_cb(initial, &SniSelector::on_client_hello, this);
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

// The first host_name of a server_name extension (RFC 6066, 3), or an empty view.
std::string_view SniSelector::host_name(const unsigned char* data, size_t length) noexcept {
    if (length < 2 || (size_t{data[0]} << 8 | data[1]) != length - 2) {
        return {};
    }
    for (size_t i = 2; i + 3 <= length;) {
        uint8_t type = data[i];
        size_t name_length = size_t{data[i + 1]} << 8 | data[i + 2];
        if (i + 3 + name_length > length) break;
        if (type == TLSEXT_NAMETYPE_host_name) {
            return {reinterpret_cast<const char*>(data + i + 3), name_length};
        }
        i += 3 + name_length;
    }
    return {};
}

// Called first thing for every ClientHello, before OpenSSL looks at a session or a version.
// Switching the context here (rather than in the later servername callback) matters: the
// session's id context is then checked against the chosen server's, so a ticket that server A
// issued cannot resume on server B's name and skip B's certificate (TLS 1.3 does not tie a
// session to its name by itself), and the chosen server's protocols still apply.
int SniSelector::on_client_hello(SSL* ssl, int*, void* arg) {
    const auto* self = static_cast<const SniSelector*>(arg);
    const unsigned char* data = nullptr;
    size_t length = 0;
    std::string_view name;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &data, &length) == 1) {
        name = host_name(data, length);
    }
    SSL_CTX* chosen = self->select(name).context->get();
    if (chosen != SSL_get_SSL_CTX(ssl)) {
        SSL_set_SSL_CTX(ssl, chosen);
        // SSL_set_SSL_CTX swaps certificates and the session id context; options and protocol
        // bounds were copied from the first context by SSL_new, so copy the chosen ones.
        SSL_clear_options(ssl, SSL_get_options(ssl) ^ SSL_CTX_get_options(chosen));
        SSL_set_options(ssl, SSL_CTX_get_options(chosen));
        SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(chosen));
        SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(chosen));
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace portico::core::tls
