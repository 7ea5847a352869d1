//! The sliding-window record that every store keeps per key, and the one algorithm that
//! updates it. The memory and database stores call these functions while they hold the
//! key's lock; the Redis store runs the same steps in Lua (`redis.rs`), and the tests of
//! each store pin that both agree.

use chrono::{DateTime, Utc};

use super::{Attempts, Limit, ThrottleError};

/// What a store keeps for one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// Times of the most recent failures (milliseconds since the Unix epoch), oldest
    /// first, at most `Limit::max_failures` of them.
    pub(crate) failures: Vec<i64>,
    /// Lockouts imposed since the key was last quiet for a whole window.
    pub(crate) lockouts: u32,
    /// When the latest lockout ends (milliseconds since the Unix epoch).
    pub(crate) locked_until: Option<i64>,
}

impl Record {
    /// Decodes the stored form: the failures as comma-separated integers.
    pub(crate) fn decode(
        failures: &str,
        lockouts: i64,
        locked_until: Option<i64>,
    ) -> Result<Self, ThrottleError> {
        let failures = failures
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.trim().parse::<i64>().map_err(|_| {
                    ThrottleError::Store(format!("corrupt throttle record: bad timestamp `{s}`"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            failures,
            lockouts: u32::try_from(lockouts.max(0)).unwrap_or(u32::MAX),
            locked_until,
        })
    }

    /// The failures in their stored form.
    pub(crate) fn encode_failures(&self) -> String {
        let mut out = String::with_capacity(self.failures.len() * 14);
        for (i, t) in self.failures.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&t.to_string());
        }
        out
    }

    /// The latest of the last failure and the end of the lockout.
    fn horizon(&self) -> Option<i64> {
        match (self.failures.last().copied(), self.locked_until) {
            (Some(f), Some(l)) => Some(f.max(l)),
            (f, l) => f.or(l),
        }
    }

    /// When the record may be forgotten: a whole window after its last failure and after
    /// the end of its lockout. `None` for an empty record.
    pub(crate) fn expires_at(&self, limit: &Limit) -> Option<i64> {
        self.horizon().map(|h| h.saturating_add(limit.window_ms()))
    }

    /// The record as it stands at `now`: empty once expired, else without the failures
    /// that slid out of the window.
    #[must_use]
    pub(crate) fn live(mut self, now: i64, limit: &Limit) -> Self {
        match self.expires_at(limit) {
            Some(expires) if expires > now => {
                let oldest_kept = now.saturating_sub(limit.window_ms());
                self.failures.retain(|&t| t > oldest_kept);
                self
            }
            _ => Self::default(),
        }
    }

    /// Records a failure at `now` on a record already made [`live`](Self::live).
    pub(crate) fn fail(&mut self, now: i64, limit: &Limit) {
        // Instances' clocks may disagree a little: keep the timestamps in order.
        let at = self.failures.partition_point(|&t| t <= now);
        self.failures.insert(at, now);
        let max = limit.max_failures.max(1) as usize;
        if self.failures.len() > max {
            let excess = self.failures.len() - max;
            self.failures.drain(..excess);
        }
        if self.failures.len() >= max {
            self.lockouts = self.lockouts.saturating_add(1);
            let until = now.saturating_add(limit.lockout_ms(self.lockouts));
            self.locked_until = Some(self.locked_until.map_or(until, |l| l.max(until)));
        }
    }

    /// The caller's view of the record.
    pub(crate) fn attempts(&self) -> Attempts {
        Attempts {
            failures: u32::try_from(self.failures.len()).unwrap_or(u32::MAX),
            lockouts: self.lockouts,
            locked_until: self
                .locked_until
                .and_then(DateTime::<Utc>::from_timestamp_millis),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limit() -> Limit {
        Limit::new(3, Duration::from_secs(100))
            .with_lockout(Duration::from_secs(10), Duration::from_secs(35))
    }

    #[test]
    fn round_trips_through_the_stored_form() {
        let record = Record {
            failures: vec![1, 20, 300],
            lockouts: 2,
            locked_until: Some(400),
        };
        let decoded = Record::decode(&record.encode_failures(), 2, Some(400)).unwrap();
        assert_eq!(decoded, record);
        assert_eq!(Record::decode("", 0, None).unwrap(), Record::default());
        assert!(Record::decode("1,x", 0, None).is_err());
    }

    #[test]
    fn keeps_only_the_newest_max_failures_and_locks_with_backoff() {
        let limit = limit();
        let mut r = Record::default();
        for (i, now) in [1_000, 2_000, 3_000, 4_000, 5_000].into_iter().enumerate() {
            r = r.live(now, &limit);
            r.fail(now, &limit);
            assert!(r.failures.len() <= 3);
            match i {
                0 | 1 => assert_eq!(r.locked_until, None),
                2 => assert_eq!(r.locked_until, Some(3_000 + 10_000)),
                3 => assert_eq!(r.locked_until, Some(4_000 + 20_000)),
                _ => assert_eq!(r.locked_until, Some(5_000 + 35_000), "capped"),
            }
        }
        assert_eq!(r.failures, vec![3_000, 4_000, 5_000]);
        assert_eq!(r.lockouts, 3);
    }

    #[test]
    fn failures_slide_out_and_a_quiet_record_is_forgotten() {
        let limit = limit();
        let mut r = Record::default();
        r.fail(0, &limit);
        r.fail(50_000, &limit);
        let later = r.clone().live(100_000, &limit);
        assert_eq!(later.failures, vec![50_000], "the failure at 0 slid out");
        assert_eq!(r.expires_at(&limit), Some(150_000));
        assert_eq!(r.live(150_000, &limit), Record::default());
    }

    #[test]
    fn out_of_order_failures_stay_sorted() {
        let limit = Limit::new(10, Duration::from_secs(100));
        let mut r = Record::default();
        for now in [5, 1, 3] {
            r.fail(now, &limit);
        }
        assert_eq!(r.failures, vec![1, 3, 5]);
    }
}
