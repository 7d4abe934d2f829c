#pragma once
// The session-ticket keys every worker encrypts and decrypts tickets with, so a client resumes on
// whichever worker the kernel hands its next connection to.
//
// The master creates the ring before it forks: one MAP_SHARED anonymous page that every worker
// (of this and of later generations) inherits. Only the master writes it, when it rotates.
//
//     page:  | generation (atomic) | slot 0 | slot 1 | slot 2 |
//              current = slot[g % 3], previous = slot[(g - 1) % 3], next write = slot[(g + 1) % 3]
//
// A rotation fills the slot no reader uses, then publishes it by bumping the generation, so no
// lock is shared between processes. A reader copies the two keys it needs and checks that the
// generation did not move meanwhile (it could only if two rotations overtook one copy).
//
// The keys live only in this page: never on disk, kept out of core dumps (MADV_DONTDUMP),
// wiped when the master unmaps the page. A binary upgrade hands a copy of the two live keys to
// the new master in a memfd (export_keys / import_keys), which exists only until it is read.

#include <openssl/ssl.h>

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace portico::core::tls {

class TicketKeyRing {
public:
    struct Key {
        std::array<unsigned char, 16> name;  ///< sent in the clear inside each ticket
        std::array<unsigned char, 32> aes;   ///< AES-256-CBC
        std::array<unsigned char, 32> hmac;  ///< HMAC-SHA256
    };

    /// A new ring with one fresh key (RAND_bytes). Returns nullptr when the page cannot be
    /// mapped or the random generator fails. Call in the master, before forking.
    static std::unique_ptr<TicketKeyRing> create() noexcept;
    ~TicketKeyRing();
    TicketKeyRing(const TicketKeyRing&) = delete;
    TicketKeyRing& operator=(const TicketKeyRing&) = delete;

    /// Master only (on its timer and on reload): a fresh key becomes current; the current one
    /// stays for decryption only (its tickets still resume, and are renewed); the one before it
    /// is forgotten. Returns false, keeping the old keys, if the random generator fails.
    bool rotate() noexcept;

    /// Master only: rotate() when `interval` has passed since the last rotation (or since the
    /// first call), for the master's timer. A ticket then stays usable for between one and two
    /// intervals, so the master should pass the longest session_timeout of its servers.
    /// Returns true when it rotated.
    bool rotate_if_due(std::chrono::steady_clock::time_point now, std::chrono::seconds interval) noexcept;
    /// Master only, on reload: rotate() now and restart rotate_if_due()'s interval from `now`, so
    /// the key that was current until now stays for decryption a whole interval (a timer rotation
    /// right after a reload would otherwise forget it, and tickets issued just before the reload).
    bool rotate_now(std::chrono::steady_clock::time_point now) noexcept;
    /// When rotate_if_due() will next rotate, for the master's wait; max() before its first call.
    [[nodiscard]] std::chrono::steady_clock::time_point next_rotation(
        std::chrono::seconds interval) const noexcept;

    /// Master only, for a binary upgrade: a memfd (close-on-exec, sealed against writes) holding
    /// a copy of the current and previous keys, so that the new master's workers resume the
    /// tickets the old ones issued. -1 (errno set) if it cannot be made.
    [[nodiscard]] int export_keys() const noexcept;
    /// A new ring that starts from the keys export_keys() put in `fd`: the current one stays
    /// current, the previous one still decrypts. nullptr if `fd` does not hold them (or mmap
    /// fails); the caller then starts with fresh keys.
    static std::unique_ptr<TicketKeyRing> import_keys(int fd) noexcept;

    /// Copies the current and (when there is one) previous key. Safe against a concurrent
    /// rotate() in another process.
    void snapshot(Key& current, Key& previous, bool& has_previous) const noexcept;
    [[nodiscard]] uint64_t generation() const noexcept;

    /// Makes `ctx` issue and accept tickets with this ring's keys. The ring must outlive `ctx`.
    bool install(SSL_CTX* ctx) noexcept;

    /// Worker only, after fork: maps the page read-only, so a bug in a worker cannot change the
    /// keys the others use.
    void make_read_only() noexcept;

private:
    struct Page;
    /// A zeroed page, shared with later forks and kept out of core files, or null.
    static Page* map_page() noexcept;
    TicketKeyRing(Page* page, pid_t owner) noexcept : page_(page), owner_(owner) {}
    static int on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                         EVP_MAC_CTX* mac, int encrypt);
    Page* page_;
    pid_t owner_;  // the process that created the page: only it wipes the keys (see ~TicketKeyRing)
    std::chrono::steady_clock::time_point last_rotation_{};  ///< the master's own bookkeeping
    bool started_ = false;
};

}  // namespace portico::core::tls
