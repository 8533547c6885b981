// In-memory destinations for tests of the commands' orchestration: the StoreOpener that
// run_push, run_fetch, run_cleanup and the prefetch worker take, handing out for each
// destination (or source) a view of the MemoryStore of its name. The test keeps the stores: it
// fills them, makes them fail (MemoryStore::fail) and looks at what the command did to them.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "base/error.h"
#include "cli/open_store.h"
#include "memory_store.h"
#include "store/destination.h"

namespace walferry::testing {

class MemoryDestinations {
  public:
    // The store of destination `name`, made empty on first use. Make every store before the
    // opener is used: the commands open stores from several threads at once.
    MemoryStore& operator[](const std::string& name) {
        return entries_.try_emplace(name, name).first->second.store;
    }

    // How many times a store was opened for `name` (one per session: once per call in push,
    // once per attempt in fetch).
    int opens(const std::string& name) const {
        auto it = entries_.find(name);
        return it == entries_.end() ? 0 : it->second.opens.load();
    }

    // A destination without a store of its name is a mistake in the test: Error(kInternal).
    StoreOpener opener() {
        return [this](const Destination& d) -> std::unique_ptr<Store> {
            auto it = entries_.find(d.name);
            if (it == entries_.end()) {
                throw Error(ErrorCode::kInternal, "no memory store for \"" + d.name + "\"");
            }
            ++it->second.opens;
            return std::make_unique<View>(it->second.store);
        };
    }

  private:
    // What the command gets and destroys; the store stays with the test.
    class View final : public Store {
      public:
        explicit View(Store& target) : target_(target) {}
        std::string describe() const override { return target_.describe(); }
        void warm_up() override { target_.warm_up(); }
        bool put(std::string_view name, ByteParts parts) override {
            return target_.put(name, parts);
        }
        void sync(std::string_view name) override { target_.sync(name); }
        std::optional<ObjectStat> stat(std::string_view name, std::size_t head_bytes) override {
            return target_.stat(name, head_bytes);
        }
        bool get(std::string_view name, const ByteSink& sink) override {
            return target_.get(name, sink);
        }
        std::vector<std::string> list() override { return target_.list(); }
        bool remove(std::string_view name) override { return target_.remove(name); }
        std::unique_ptr<ConsumerStore> consumers(ConsumerAccess access, int lock_wait_s) override {
            return target_.consumers(access, lock_wait_s);
        }

      private:
        Store& target_;
    };

    struct Entry {
        explicit Entry(const std::string& name) : store(name) {}
        MemoryStore store;
        std::atomic<int> opens{0};
    };

    std::map<std::string, Entry, std::less<>> entries_;
};

// A destination named `name` (its URL made up) whose store is MemoryDestinations' `name`.
inline Destination memory_destination(const std::string& name) {
    Destination d;
    d.name = name;
    d.location = parse_location("file:///walferry-test/" + name, "/");
    return d;
}

}  // namespace walferry::testing
