// Session-ticket keys in a page the master shares with its workers; see the header's diagram.

#include "core/tls/ticket_key_ring.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portico::core::tls {

struct TicketKeyRing::Page {
    std::atomic<uint64_t> generation;
    Key slots[3];
};

namespace {

static_assert(std::atomic<uint64_t>::is_always_lock_free, "the generation is shared between processes");
constexpr size_t kSlots = 3;

// The SSL_CTX ex_data slot that points at the ring, allocated once per process.
int ring_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool fresh_key(TicketKeyRing::Key& key) {
    return RAND_bytes(key.name.data(), static_cast<int>(key.name.size())) == 1 &&
           RAND_bytes(key.aes.data(), static_cast<int>(key.aes.size())) == 1 &&
           RAND_bytes(key.hmac.data(), static_cast<int>(key.hmac.size())) == 1;
}

bool set_mac_key(EVP_MAC_CTX* mac, const TicketKeyRing::Key& key) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.hmac.data()),
                                          key.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

TicketKeyRing::Page* TicketKeyRing::map_page() noexcept {
    void* memory = mmap(nullptr, sizeof(Page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    madvise(memory, sizeof(Page), MADV_DONTDUMP);  // best effort: keys stay out of core files
    return new (memory) Page{};
}

std::unique_ptr<TicketKeyRing> TicketKeyRing::create() noexcept {
    Page* page = map_page();
    if (!page) return nullptr;
    if (!fresh_key(page->slots[0])) {
        munmap(page, sizeof(Page));
        return nullptr;
    }
    return std::unique_ptr<TicketKeyRing>(new TicketKeyRing(page, getpid()));
}

namespace {

// What export_keys() writes: the two keys a new master needs, nothing of the page's layout.
struct HandedKeys {
    static constexpr uint32_t kMagic = 0x504f5254;  // "PORT", version 1
    uint32_t magic = kMagic;
    uint32_t has_previous = 0;
    TicketKeyRing::Key current{};
    TicketKeyRing::Key previous{};
};

}  // namespace

int TicketKeyRing::export_keys() const noexcept {
    int fd = memfd_create("portico-ticket-keys", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    HandedKeys keys;
    bool has_previous = false;
    snapshot(keys.current, keys.previous, has_previous);
    keys.has_previous = has_previous ? 1 : 0;
    ssize_t n = ::write(fd, &keys, sizeof keys);
    const int saved = errno;
    OPENSSL_cleanse(&keys, sizeof keys);
    if (n != static_cast<ssize_t>(sizeof keys) ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
        errno = n < 0 ? saved : EIO;
        ::close(fd);
        return -1;
    }
    return fd;
}

std::unique_ptr<TicketKeyRing> TicketKeyRing::import_keys(int fd) noexcept {
    struct stat st {};
    if (fstat(fd, &st) != 0 || st.st_size != static_cast<off_t>(sizeof(HandedKeys))) return nullptr;
    HandedKeys keys;
    bool ok = ::pread(fd, &keys, sizeof keys, 0) == static_cast<ssize_t>(sizeof keys) &&
              keys.magic == HandedKeys::kMagic;
    std::unique_ptr<TicketKeyRing> ring;
    if (Page* page = ok ? map_page() : nullptr) {
        if (keys.has_previous) {  // as after one rotation: slot 1 current, slot 0 previous
            page->slots[0] = keys.previous;
            page->slots[1] = keys.current;
            page->generation.store(1, std::memory_order_release);
        } else {
            page->slots[0] = keys.current;
        }
        ring.reset(new TicketKeyRing(page, getpid()));
    }
    OPENSSL_cleanse(&keys, sizeof keys);
    return ring;
}

TicketKeyRing::~TicketKeyRing() {
    // The page is shared: a worker that wiped it on exit would zero every process's keys, and
    // tickets would then be sealed with all-zero keys anyone can forge. Only the creator (the
    // master) wipes; everyone else just drops its mapping.
    if (getpid() == owner_ && mprotect(page_, sizeof(Page), PROT_READ | PROT_WRITE) == 0) {
        OPENSSL_cleanse(page_->slots, sizeof page_->slots);
    }
    munmap(page_, sizeof(Page));
}

bool TicketKeyRing::rotate() noexcept {
    uint64_t g = page_->generation.load(std::memory_order_relaxed);
    Key& next = page_->slots[(g + 1) % kSlots];
    Key candidate;
    if (!fresh_key(candidate)) {
        return false;
    }
    next = candidate;
    OPENSSL_cleanse(&candidate, sizeof candidate);
    page_->generation.store(g + 1, std::memory_order_release);
    return true;
}

bool TicketKeyRing::rotate_if_due(std::chrono::steady_clock::time_point now,
                                  std::chrono::seconds interval) noexcept {
    if (!started_) {
        started_ = true;
        last_rotation_ = now;
        return false;
    }
    if (now - last_rotation_ < interval || !rotate()) {
        return false;
    }
    last_rotation_ = now;
    return true;
}

bool TicketKeyRing::rotate_now(std::chrono::steady_clock::time_point now) noexcept {
    if (!rotate()) {
        return false;
    }
    started_ = true;
    last_rotation_ = now;
    return true;
}

std::chrono::steady_clock::time_point TicketKeyRing::next_rotation(
    std::chrono::seconds interval) const noexcept {
    return started_ ? last_rotation_ + interval : std::chrono::steady_clock::time_point::max();
}

uint64_t TicketKeyRing::generation() const noexcept {
    return page_->generation.load(std::memory_order_acquire);
}

void TicketKeyRing::snapshot(Key& current, Key& previous, bool& has_previous) const noexcept {
    for (;;) {
        uint64_t g = page_->generation.load(std::memory_order_acquire);
        std::memcpy(&current, &page_->slots[g % kSlots], sizeof(Key));
        std::memcpy(&previous, &page_->slots[(g + kSlots - 1) % kSlots], sizeof(Key));
        std::atomic_thread_fence(std::memory_order_acquire);
        if (page_->generation.load(std::memory_order_relaxed) == g) {
            has_previous = g > 0;
            return;
        }
    }
}

bool TicketKeyRing::install(SSL_CTX* ctx) noexcept {
    return SSL_CTX_set_ex_data(ctx, ring_index(), this) == 1 &&
           SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeyRing::on_ticket) == 1;
}

void TicketKeyRing::make_read_only() noexcept {
    mprotect(page_, sizeof(Page), PROT_READ);
}

// OpenSSL's contract: on encrypt fill name, iv, cipher and mac and return 1 (or <0 on error);
// on decrypt return 0 for "unknown key, do a full handshake", 1 to accept, 2 to accept and
// issue a fresh ticket under the current key.
int TicketKeyRing::on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                             EVP_MAC_CTX* mac, int encrypt) {
    // Every context of a listener installs the same ring, so whichever one SNI chose finds it.
    auto* ring = static_cast<TicketKeyRing*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ring_index()));
    if (ring == nullptr) {
        return -1;
    }
    Key current;
    Key previous;
    bool has_previous = false;
    ring->snapshot(current, previous, has_previous);
    int result = 0;
    const int iv_length = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
    if (encrypt != 0) {
        std::memcpy(name, current.name.data(), current.name.size());
        bool ok = RAND_bytes(iv, iv_length) == 1 &&
                  EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, current.aes.data(), iv) == 1 &&
                  set_mac_key(mac, current);
        result = ok ? 1 : -1;
    } else {
        const Key* key = nullptr;
        if (std::memcmp(name, current.name.data(), current.name.size()) == 0) {
            key = &current;
            result = 1;
        } else if (has_previous && std::memcmp(name, previous.name.data(), previous.name.size()) == 0) {
            key = &previous;
            result = 2;
        }
        if (key != nullptr &&
            (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv) != 1 ||
             !set_mac_key(mac, *key))) {
            result = -1;
        }
    }
    OPENSSL_cleanse(&current, sizeof current);
    OPENSSL_cleanse(&previous, sizeof previous);
    return result;
}

}  // namespace portico::core::tls
