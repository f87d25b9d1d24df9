#ifndef HUBAGENT_CCURL_SHIM_H
#define HUBAGENT_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt / curl_easy_getinfo are variadic: not callable from Swift. One typed wrapper
   per argument kind. */
static inline CURLcode hubagent_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode hubagent_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode hubagent_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*hubagent_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode hubagent_curl_setopt_callback(CURL *h, CURLoption o, hubagent_curl_data_callback cb) { return curl_easy_setopt(h, o, cb); }
static inline CURLcode hubagent_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode hubagent_curl_getinfo_string(CURL *h, CURLINFO i, const char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode hubagent_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
/* CURLAUTH_ANY is a macro with a cast, not imported. */
static inline long hubagent_curlauth_any(void) { return (long)CURLAUTH_ANY; }
#endif
