//! batteries-middleware: rate limits, and the Redis stores through outages and restarts.

mod ratelimit;
mod redis_outage;
mod redis_restart;
