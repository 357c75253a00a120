//! Raw system calls, each wrapped once.
