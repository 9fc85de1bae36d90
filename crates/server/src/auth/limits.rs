//! Rate limits: per user or token on the API, per address on sign-in. In memory per
//! replica (GCRA, `governor`), or in Redis when configured so the limit holds across
//! replicas (a fixed one-minute window per key: INCR + PEXPIRE in one transaction).

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Limiter {
    name: &'static str,
    per_minute: u32,
    local: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    redis: Option<redis::aio::ConnectionManager>,
}

impl Limiter {
    /// `per_minute` 0 turns the limit off.
    pub fn new(
        name: &'static str,
        per_minute: u32,
        redis: Option<redis::aio::ConnectionManager>,
    ) -> Self {
        let local =
            NonZeroU32::new(per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))));
        Self {
            name,
            per_minute,
            local,
            redis,
        }
    }

    /// `Err(seconds to wait)` when `key` is over the limit.
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        if let Some(conn) = &self.redis {
            match self.check_redis(conn.clone(), key).await {
                Ok(r) => return r,
                // Redis down: fall back to this replica's own count rather than refuse
                // everyone or let everything through.
                Err(e) => {
                    tracing::warn!(error = %e, "rate limit: Redis unavailable, counting locally")
                }
            }
        }
        let Some(local) = &self.local else {
            return Ok(());
        };
        if local.len() > 100_000 {
            local.retain_recent();
        }
        local.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    async fn check_redis(
        &self,
        mut conn: redis::aio::ConnectionManager,
        key: &str,
    ) -> redis::RedisResult<Result<(), u64>> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let window = now / 60;
        let redis_key = format!("covalynce:rl:{}:{key}:{window}", self.name);
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(&redis_key, 1)
            .pexpire(&redis_key, 61_000)
            .ignore()
            .query_async(&mut conn)
            .await?;
        if count > u64::from(self.per_minute) {
            Ok(Err((60 - now % 60).max(1)))
        } else {
            Ok(Ok(()))
        }
    }
}

/// Connects to Redis (with reconnects managed for us), bounded in time so a wrong URL
/// fails the start instead of hanging it.
pub async fn connect_redis(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?;
    tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
        .await
        .map_err(|_| anyhow::anyhow!("Redis did not answer within 5 s"))?
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_key_over_its_limit_waits_and_others_do_not() {
        let l = super::Limiter::new("t", 3, None);
        for _ in 0..3 {
            l.check("a").await.unwrap();
        }
        let wait = l.check("a").await.unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        l.check("b").await.unwrap();
        let off = super::Limiter::new("t", 0, None);
        for _ in 0..1000 {
            off.check("a").await.unwrap();
        }
    }
}
