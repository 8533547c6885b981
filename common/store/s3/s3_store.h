// The s3:// backend: an archive under a key prefix of a bucket of an S3-compatible store (AWS S3,
// Ceph RGW, MinIO), spoken to through libcurl (SigV4 signing, TLS verified).
//
// Never overwrite. Every PUT of an archive file carries If-None-Match: *, so the store itself
// refuses to replace a key (412): put() then answers false and the caller compares, as with a
// name that exists on disk. Before the first put() of a store object the store's support for it
// is checked: the marker object PREFIX/.walferry-s3-create-only says a probe found it honoured;
// without one, a probe key is created twice (the second must get 412), removed, and the marker
// written. A store that lets the second create through is refused (Error(kUnsupported)).
//
// Durability and integrity. A 200 to a PUT means the store holds the object durably; the
// payload's SHA-256 goes signed in x-amz-content-sha256, so a body damaged on the way is refused
// (400 XAmzContentSHA256Mismatch). sync() only checks that the object is there.
//
// "Not found" means the bucket answered and has no such key. A missing bucket, refused
// credentials, a TLS failure or an endpoint that does not answer are errors, never "not found".
// Requests are retried (exponential backoff, full jitter, `retries` times) on 408, 429, 5xx,
// SlowDown and connection errors, never on other 4xx; a streamed download only until its
// first byte was handed on.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "store/destination.h"
#include "store/s3/s3_credentials.h"
#include "store/s3/s3_request.h"
#include "store/s3/s3_response.h"
#include "store/store.h"

namespace walferry {

class CurlSession;

// Object key (below the prefix) of the marker that records a passed If-None-Match probe.
inline constexpr std::string_view kCreateOnlyMarker = ".walferry-s3-create-only";

class S3Store final : public Store {
  public:
    // `destination.location` must be an s3:// location. Nothing is read or sent before the
    // first operation; credentials come from the destination, else `env`.
    explicit S3Store(Destination destination, EnvLookup env = default_env());
    ~S3Store() override;

    std::string describe() const override;
    // Connects and checks the create-only marker (probing if there is none): what the first
    // put() would do.
    void warm_up() override;
    bool put(std::string_view name, ByteParts parts) override;
    // A PUT answered 200 is durable: this only checks that `name` is there.
    void sync(std::string_view name) override;
    // head_bytes 0: one HEAD, or no request for a name the last list() gave (its Size and
    // LastModified: cleanup reports thousands; put and removals forget the name). Otherwise one
    // ranged GET of the first head_bytes bytes (the metadata frame is read from the object
    // itself, whoever wrote it).
    std::optional<ObjectStat> stat(std::string_view name, std::size_t head_bytes) override;
    bool get(std::string_view name, const ByteSink& sink) override;
    // ListObjectsV2 (delimiter '/': nothing below a further '/'), every page; '.'-names left out.
    std::vector<std::string> list() override;
    bool remove(std::string_view name) override;
    std::unique_ptr<ConsumerStore> consumers(ConsumerAccess access, int lock_wait_s) override;
    // DeleteObjects, kMaxDeleteKeys a request.
    void remove_all(std::span<const std::string> names) override;

    // ---- walferry's own objects below the prefix (cleanup's records and lock): keys relative
    // to the prefix, any text, no create-only probe.
    struct Object {
        std::string body;
        std::int64_t last_modified = 0;  // the store's clock, unix time (0 if not said)
        std::int64_t date = 0;           // the store's clock when it answered (0 if not said)
    };
    // PUT of `body` under `key`; `create_only`: If-None-Match: *, false if the key exists.
    bool put_object(const std::string& key, const std::string& body, bool create_only);
    // The object, its body cut after max_bytes; nullopt if there is none.
    std::optional<Object> get_object(const std::string& key, std::size_t max_bytes);
    // Keys (relative to the prefix) that start with `key_prefix`, sorted; all depths.
    std::vector<std::string> list_objects(const std::string& key_prefix);
    // DELETE of `key`; false if it was not there (one HEAD first: S3 answers 204 either way).
    bool delete_object(const std::string& key);
    // "s3://bucket/prefix/<key>", for messages.
    std::string url_of(std::string_view key) const;

    // Called before every removal (remove, remove_all, delete_object): cleanup's lock holder
    // stops there if its lock may have expired.
    std::function<void()> before_remove;

    static EnvLookup default_env();

  private:
    CurlSession& session();
    // The request sent, retried as the header says; the last answer.
    S3Response execute(S3Request request, ByteParts upload = {}, const ByteSink* sink = nullptr);
    [[noreturn]] void fail(std::string_view what, const S3Request& request,
                           const S3Response& response) const;
    // After a 404 without a body (HEAD): Error unless the bucket is there.
    void check_bucket();
    void check_create_only();
    // Sorted keys; with `stats`, each key's size and mtime from the listing.
    std::vector<std::string> list_keys(
        const std::string& key_prefix, bool flat,
        std::map<std::string, ObjectStat, std::less<>>* stats = nullptr);

    Destination destination_;
    EnvLookup env_;
    S3Target target_;
    std::string session_token_;
    std::unique_ptr<CurlSession> session_;
    std::map<std::string, ObjectStat, std::less<>> listed_;  // from the last list()
    bool bucket_checked_ = false;
    bool create_only_checked_ = false;
};

// Exposed for tests.

// x-amz-meta-walferry-* of an archive file whose stored bytes start with `first_part`: the
// metadata frame's name, raw-size, sha256, and for WAL pages sysid, tli, pg-major; nothing for a
// part that is not a metadata frame (walferry.info).
ObjectMetadata walferry_metadata(std::span<const std::uint8_t> first_part);

enum class ProbeVerdict { kHonoured, kIgnored };
// The If-None-Match probe: statuses of the first and the second create-only PUT of a new key.
// 200 then 412: honoured; 200 then 2xx: ignored. Anything else -> Error naming both.
ProbeVerdict probe_verdict(long first, long second);

// Content-Range "bytes 0-1023/40960" -> 40960; nullopt if unreadable.
std::optional<std::uint64_t> content_range_total(std::string_view value);

}  // namespace walferry
