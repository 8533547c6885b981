// A destination: where an archive is (its location) and how to reach it (the SFTP options).
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
    int connect_timeout_s = 10;  // sftp: TCP connect
    int io_timeout_s = 30;       // sftp: any single wait for the server (handshake, reads, writes)
};

}  // namespace walferry
