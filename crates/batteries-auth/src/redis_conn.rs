//! The Redis connection every batteries Redis store opens (feature `redis`).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A connection to Redis at `url` that reconnects by itself after Redis restarts or the
/// network drops (the command that hits the broken connection fails; the next ones go
/// through), with 2-second connection and response timeouts so that a Redis that is
/// down fails requests quickly instead of hanging them. It is a multiplexed connection:
/// clone it freely.
///
/// # Errors
/// The URL is invalid or Redis cannot be reached now.
pub async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(2))
        .set_number_of_retries(2)
        .set_max_delay(500);
    ConnectionManager::new_with_config(redis::Client::open(url)?, config).await
}
