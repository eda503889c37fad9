# Fails a ctest test with MESSAGE: used for end-to-end tests whose client is
# missing, so they fail instead of silently disappearing.
message(FATAL_ERROR "${MESSAGE}")
