// A small result type for the io layer's start-up and control paths: a value, or a sentence saying what
// went wrong and what to do about it. DPDK reports failures as negative errno values plus rte_errno; the
// io layer turns them into text here once, so the program prints one clear line instead of a number.
//
// Only set-up and control paths return Result (EAL start, port open, pool creation, pcap open). The data
// path (TX batch, mbuf helpers) never builds strings: it returns nullptr or counts.
#pragma once
#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace synwave::io {

// The failure side of a Result. Constructed explicitly (`Error{"..."}`) so a string is never mistaken
// for a value.
struct Error {
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose, `return value;`
    Result(Error e) : error_(std::move(e.message)) {}  // NOLINT: implicit on purpose, `return Error{...};`

    [[nodiscard]] bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }

    [[nodiscard]] T& value() & { assert(ok()); return *value_; }
    [[nodiscard]] const T& value() const& { assert(ok()); return *value_; }
    [[nodiscard]] T&& value() && { assert(ok()); return std::move(*value_); }
    T* operator->() { assert(ok()); return &*value_; }
    const T* operator->() const { assert(ok()); return &*value_; }
    T& operator*() & { assert(ok()); return *value_; }
    const T& operator*() const& { assert(ok()); return *value_; }

    // Empty when ok().
    [[nodiscard]] const std::string& error() const { return error_; }

private:
    std::optional<T> value_;
    std::string error_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : ok_(false), error_(std::move(e.message)) {}  // NOLINT: implicit on purpose

    [[nodiscard]] bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    [[nodiscard]] const std::string& error() const { return error_; }

private:
    bool ok_ = true;
    std::string error_;
};

}  // namespace synwave::io
