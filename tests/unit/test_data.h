// Deterministic test inputs shared by the unit tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace test_data {

inline std::vector<std::uint8_t> random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> out(size);
    for (std::size_t i = 0; i < size; i += 8) {
        std::uint64_t v = rng();
        std::memcpy(out.data() + i, &v, std::min<std::size_t>(8, size - i));
    }
    return out;
}

// Bytes shaped like pgbench WAL: 8 KiB pages with a page header, then records with headers,
// increasing LSNs and transaction ids, a few random bytes and blank-padded tuples. It compresses
// about as well as the real thing, which random or constant data would not.
inline std::vector<std::uint8_t> wal_like(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> out;
    out.reserve(size + 8192);
    std::uint32_t xid = 1000 + static_cast<std::uint32_t>(seed);
    auto put = [&](const auto& v) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
        out.insert(out.end(), p, p + sizeof v);
    };
    while (out.size() < size) {
        if (out.size() % 8192 == 0) {
            put(std::uint16_t{0xD110});
            put(static_cast<std::uint16_t>(out.empty() ? 2 : 0));
            put(std::uint32_t{1});
            put(std::uint64_t{out.size()});
            put(std::uint32_t{0});
            put(std::uint32_t{0});
        }
        put(std::uint32_t{160});  // record length
        put(++xid);
        put(std::uint64_t{out.size() - 32});
        put(std::uint8_t{0x10});
        put(std::uint8_t{10});
        put(static_cast<std::uint32_t>(rng()));                // crc
        put(static_cast<std::uint32_t>(rng() % 100000));       // aid
        put(std::uint32_t{1});                                 // bid
        put(static_cast<std::int32_t>(rng() % 10000) - 5000);  // abalance
        out.insert(out.end(), 84, ' ');                        // filler
        out.insert(out.end(), 8192 - out.size() % 8192 < 200 ? 8192 - out.size() % 8192 : 0, 0);
    }
    out.resize(size);
    return out;
}

}  // namespace test_data
