#include "memory_store.h"

#include <catch2/catch.hpp>

#include "store_test_helpers.h"

using namespace walferry;
using namespace walferry::testing;

TEST_CASE("memory store keeps the Store contract", "[memory_store]") {
    MemoryStore store("t");
    CHECK(store.describe() == "memory://t");
    CHECK(put_text(store, "b", "hello, ", "world"));
    CHECK_FALSE(put_text(store, "b", "other"));  // never replaces
    CHECK(store.text("b") == "hello, world");
    CHECK(put_text(store, "a", ""));
    CHECK(store.list() == std::vector<std::string>{"a", "b"});
    CHECK(store.stat("b", 5)->head == std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'});
    CHECK(store.stat("b", 5)->size == 12);
    CHECK_FALSE(store.stat("c", 5));
    CHECK_FALSE(store.get("c", [](auto) {}));
    CHECK(store.remove("a"));
    CHECK_FALSE(store.remove("a"));
    CHECK(store.puts == std::vector<std::string>{"b", "a"});
    CHECK(store.removes == std::vector<std::string>{"a"});
    CHECK(store.calls.front() == "put b");
    CHECK_THROWS_AS(put_text(store, ".hidden", "x"), Error);
}

TEST_CASE("memory store get delivers content in chunks", "[memory_store]") {
    MemoryStore store;
    std::string big(MemoryStore::kChunk * 2 + 5, 'z');
    store.set("big", big);
    std::vector<std::size_t> sizes;
    std::string got;
    CHECK(store.get("big", [&](std::span<const std::uint8_t> c) {
        sizes.push_back(c.size());
        got.append(c.begin(), c.end());
    }));
    CHECK(sizes == std::vector<std::size_t>{MemoryStore::kChunk, MemoryStore::kChunk, 5});
    CHECK(got == big);
}

TEST_CASE("memory store fails on request", "[memory_store]") {
    MemoryStore store("f");
    store.set("x", "1");
    store.fail(MemoryStore::Op::kGet, ErrorCode::kUnavailable, 1);
    CHECK(store.get("x", [](auto) {}));  // the first get still succeeds
    Error e = error_of([&] { store.get("x", [](auto) {}); });
    CHECK(e.code() == ErrorCode::kUnavailable);
    CHECK(std::string(e.what()) == "memory://f: injected failure in get");
    CHECK(store.stat("x", 1));  // other operations are unaffected
    store.fail(std::nullopt, ErrorCode::kIo);
    CHECK_THROWS_AS(store.list(), Error);
    CHECK_THROWS_AS(put_text(store, "y", "2"), Error);
    CHECK_FALSE(store.files.count("y"));
    store.heal();
    CHECK(put_text(store, "y", "2"));
}
