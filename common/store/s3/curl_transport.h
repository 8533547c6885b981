// One libcurl easy handle: one keep-alive connection to the S3 endpoint, reused by every request
// of a store object (a whole push batch and backlog, a whole listing and cleanup). libcurl signs
// each request (CURLOPT_AWS_SIGV4) and verifies TLS (peer and host name, always).
#pragma once

#include <memory>
#include <string>

#include "store/s3/s3_request.h"
#include "store/s3/s3_response.h"
#include "store/store.h"

namespace walferry {

struct TransportOptions {
    std::string region;
    std::string access_key_id;
    std::string secret_access_key;
    std::string ca_file;  // empty: the system's CA certificates
    int connect_timeout_s = 10;
    int io_timeout_s = 30;
};

class CurlSession {
  public:
    explicit CurlSession(TransportOptions options);
    ~CurlSession();
    CurlSession(const CurlSession&) = delete;
    CurlSession& operator=(const CurlSession&) = delete;

    // Sends `request` once. A PUT streams `upload` (request.upload_size bytes in all); a POST
    // sends request.body. The body of a 2xx answer goes to `sink` when given (an exception the
    // sink throws ends the transfer and is rethrown here), every other body into the response.
    // Transport failures come back as status 0 with curl's code and text, never thrown.
    S3Response perform(const S3Request& request, ByteParts upload = {},
                       const ByteSink* sink = nullptr);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace walferry
