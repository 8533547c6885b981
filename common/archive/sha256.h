// SHA-256 through OpenSSL's libcrypto (EVP), owned by RAII; libcrypto is loaded on first use.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace walferry {

using Sha256Digest = std::array<std::uint8_t, 32>;

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::span<const std::uint8_t> bytes);
    Sha256Digest finish();  // may be called once

  private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

Sha256Digest sha256(std::span<const std::uint8_t> bytes);

// 64 lower-case hex digits.
std::string to_hex(const Sha256Digest& digest);

// Inverse of to_hex; throws Error(kInvalidContainer) unless exactly 64 hex digits.
Sha256Digest digest_from_hex(std::string_view hex);

}  // namespace walferry
