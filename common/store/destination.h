// A destination: where an archive is (its location) and how to reach it (the SFTP and S3
// options).
// The config file and the command line make these; every backend opens its store from one.
#pragma once

#include <string>

#include "store/location.h"

namespace walferry {

struct Destination {
    std::string name;  // defaults to the URL
    Location location;
    std::string identity;     // sftp: private key file ("~/" expanded)
    std::string known_hosts;  // sftp: OpenSSH known_hosts file ("~/" expanded)
    bool accept_new_host_keys = false;
    // sftp: run `sync` on the archive directory over an exec channel after each publish (SFTP
    // itself cannot fsync a directory); needs an account that may run commands.
    bool remote_sync = false;
    int connect_timeout_s = 10;  // sftp, s3: TCP (and TLS) connect
    // sftp: any single wait for the server (handshake, reads, writes); s3: a request without a
    // body (HEAD, list, delete) as a whole, and a transfer that moves no byte for this long
    int io_timeout_s = 30;

    // s3: where the S3 API answers, "https://host[:port]"; empty: AWS's endpoint for `region`
    std::string endpoint;
    std::string region = "us-east-1";  // s3: signed into every request (SigV4)
    // s3: "path" (https://host/BUCKET/key: RGW, MinIO) or "virtual" (https://BUCKET.host/key);
    // empty: virtual for AWS (no endpoint given), path for an endpoint given
    std::string uri_style;
    // s3: the access key; empty: $AWS_ACCESS_KEY_ID (and $AWS_SECRET_ACCESS_KEY,
    // $AWS_SESSION_TOKEN)
    std::string access_key_id;
    std::string secret_access_key_file;  // s3: readable by its owner only; empty: the environment
    std::string ca_file;  // s3: CA certificates to verify TLS with; empty: the system's
    int retries = 3;      // s3: a request retried on 408, 429, 5xx and connection errors
};

}  // namespace walferry
