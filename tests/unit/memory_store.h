// An in-memory Store for tests of the code above the storage layer: it follows the Store
// contract (never replaces, nullopt/false for missing names), records every call, and can be
// told to fail like a broken disk or an unreachable host would.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/local_consumer_store.h"
#include "store/store.h"

namespace walferry {

class MemoryStore final : public Store {
  public:
    enum class Op { kPut, kSync, kStat, kGet, kList, kRemove };

    explicit MemoryStore(std::string label = "memory") : label_(std::move(label)) {}

    // ---- what the store holds and what happened to it
    std::map<std::string, std::vector<std::uint8_t>, std::less<>> files;
    std::vector<std::string> puts;     // names stored by successful put() calls, in order
    std::vector<std::string> removes;  // names removed by remove() calls that found them
    std::vector<std::string> calls;    // every call, e.g. "put x.zst", "stat x.zst", "list"

    // ---- failure injection
    // Every call of `op` (any op if nullopt) throws Error(code, ...) until heal(); `after`
    // matching calls succeed first.
    void fail(std::optional<Op> op, ErrorCode code = ErrorCode::kUnavailable, int after = 0) {
        failure_ = Failure{op, code, after};
    }
    void heal() { failure_.reset(); }
    // Runs inside put() just before the name is checked, e.g. to let a "concurrent" writer win.
    std::function<void(std::string_view name)> before_put;
    // Where its cleanup consumers are recorded: files in this local directory, as for a local
    // archive (LocalConsumerStore). None: the store cannot hold them (Error(kUnsupported)).
    std::optional<std::string> consumer_dir;

    // ---- helpers for tests
    void set(std::string_view name, std::string_view content) {
        files[std::string(name)] = std::vector<std::uint8_t>(content.begin(), content.end());
    }
    std::string text(std::string_view name) const {
        auto it = files.find(name);
        return it == files.end() ? std::string()
                                 : std::string(it->second.begin(), it->second.end());
    }

    // ---- Store
    std::string describe() const override { return "memory://" + label_; }

    bool put(std::string_view name, ByteParts parts) override {
        enter(Op::kPut, "put", name);
        check_object_name(name);
        if (before_put) before_put(name);
        if (files.find(name) != files.end()) return false;
        std::vector<std::uint8_t> content;
        for (const auto& part : parts) content.insert(content.end(), part.begin(), part.end());
        files.emplace(std::string(name), std::move(content));
        puts.emplace_back(name);
        return true;
    }

    void sync(std::string_view name) override {
        enter(Op::kSync, "sync", name);
        check_object_name(name);
        if (files.find(name) == files.end())
            throw Error(ErrorCode::kIo, describe() + ": sync of a missing file");
    }

    std::optional<ObjectStat> stat(std::string_view name, std::size_t head_bytes) override {
        enter(Op::kStat, "stat", name);
        check_object_name(name);
        auto it = files.find(name);
        if (it == files.end()) return std::nullopt;
        ObjectStat st;
        st.size = it->second.size();
        std::size_t n = std::min(head_bytes, it->second.size());
        st.head.assign(it->second.begin(), it->second.begin() + static_cast<long>(n));
        return st;
    }

    bool get(std::string_view name, const ByteSink& sink) override {
        enter(Op::kGet, "get", name);
        check_object_name(name);
        auto it = files.find(name);
        if (it == files.end()) return false;
        // Small chunks, so that readers meet chunk boundaries as they would with a real store.
        std::span<const std::uint8_t> all(it->second);
        for (std::size_t at = 0; at < all.size(); at += kChunk) {
            sink(all.subspan(at, std::min(kChunk, all.size() - at)));
        }
        return true;
    }

    std::vector<std::string> list() override {
        enter(Op::kList, "list", {});
        std::vector<std::string> names;
        for (const auto& [name, content] : files) names.push_back(name);
        return names;
    }

    bool remove(std::string_view name) override {
        enter(Op::kRemove, "remove", name);
        check_object_name(name);
        auto it = files.find(name);
        if (it == files.end()) return false;
        files.erase(it);
        removes.emplace_back(name);
        return true;
    }

    std::unique_ptr<ConsumerStore> consumers(ConsumerAccess access, int lock_wait_s) override {
        if (!consumer_dir) return Store::consumers(access, lock_wait_s);
        return std::make_unique<LocalConsumerStore>(*consumer_dir, access);
    }

    static constexpr std::size_t kChunk = 4096;

  private:
    struct Failure {
        std::optional<Op> op;
        ErrorCode code;
        int after;
    };

    void enter(Op op, std::string_view verb, std::string_view name) {
        calls.push_back(name.empty() ? std::string(verb)
                                     : std::string(verb) + " " + std::string(name));
        if (!failure_ || (failure_->op && *failure_->op != op)) return;
        if (failure_->after > 0) {
            --failure_->after;
            return;
        }
        throw Error(failure_->code, describe() + ": injected failure in " + std::string(verb));
    }

    std::string label_;
    std::optional<Failure> failure_;
};

}  // namespace walferry
