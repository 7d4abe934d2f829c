#pragma once
// An intrusive doubly-linked list kept in recency order: most recently used at the front, the
// next victim at the back. The links live inside the element (one LruLink member per list it can
// be on), so linking, touching and unlinking never allocate and are O(1).

#include <cstddef>

namespace portico::http {

template <class T>
struct LruLink {
    T* prev = nullptr;
    T* next = nullptr;
    bool linked = false;
};

template <class T, LruLink<T> T::*Link>
class LruList {
public:
    /// Links `x` (not on this list) at the front.
    void push_front(T* x) noexcept {
        LruLink<T>& l = x->*Link;
        l.prev = nullptr;
        l.next = head_;
        l.linked = true;
        if (head_)
            (head_->*Link).prev = x;
        else
            tail_ = x;
        head_ = x;
        ++size_;
    }

    /// Unlinks `x`; does nothing if it is not linked.
    void remove(T* x) noexcept {
        LruLink<T>& l = x->*Link;
        if (!l.linked) return;
        if (l.prev)
            (l.prev->*Link).next = l.next;
        else
            head_ = l.next;
        if (l.next)
            (l.next->*Link).prev = l.prev;
        else
            tail_ = l.prev;
        l = LruLink<T>{};
        --size_;
    }

    /// Marks `x` (linked) as just used. The front stays put, so a hot entry costs one compare.
    void touch(T* x) noexcept {
        if (head_ == x) return;
        remove(x);
        push_front(x);
    }

    /// The least recently used element, or nullptr.
    [[nodiscard]] T* back() const noexcept { return tail_; }
    [[nodiscard]] T* front() const noexcept { return head_; }
    /// The element used just before `x` (towards the back), or nullptr.
    [[nodiscard]] static T* older(const T* x) noexcept { return (x->*Link).next; }
    [[nodiscard]] size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

private:
    T* head_ = nullptr;
    T* tail_ = nullptr;
    size_t size_ = 0;
};

}  // namespace portico::http
