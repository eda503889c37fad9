// The one translation unit that compiles Boost.Asio and Boost.Beast. Every
// other file sees only their declarations (BOOST_*_SEPARATE_COMPILATION is set
// project-wide), which keeps a rebuild on 2 cores short.
#include <boost/asio/impl/src.hpp>
// Asio's TLS (OpenSSL), for Firehose's https:// HTTP endpoints.
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
