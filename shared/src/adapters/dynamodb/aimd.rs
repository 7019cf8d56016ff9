//! The bulk writer's concurrency, adapted to throttles: additive increase, multiplicative
//! decrease (AIMD, as TCP's congestion window). Pure: no clock, no I/O.
//!
//! Each BatchWriteItem is sent under a [`Ticket`]. Every `limit` requests answered in full
//! add one to the limit (one more request in flight per window of answers). A
//! throttle (ProvisionedThroughputExceeded, ThrottlingException, or UnprocessedItems) halves
//! the limit, once per window: the requests that were already in flight when the limit was cut
//! carry the older epoch, and their throttles are the same congestion, not a new one.

use std::collections::VecDeque;

/// How far the limit may move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AimdConfig {
    pub initial: usize,
    pub min: usize,
    pub max: usize,
    /// The factor a throttle multiplies the limit by (0 < decrease < 1).
    pub decrease: f64,
}

impl AimdConfig {
    /// A fixed concurrency (no adaptation): what the writer did before.
    pub const fn fixed(n: usize) -> Self {
        AimdConfig {
            initial: n,
            min: n,
            max: n,
            decrease: 1.0,
        }
    }
}

/// Changes of the limit kept in [`AimdStats::history`] (the newest).
pub const HISTORY: usize = 4096;

/// What the controller did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AimdStats {
    /// The limit now.
    pub limit: usize,
    /// The highest and lowest limits reached.
    pub peak: usize,
    pub lowest: usize,
    /// Answers in full and throttles seen (a throttle of an older window is counted, but does
    /// not cut the limit again).
    pub successes: u64,
    pub throttles: u64,
    /// Times the limit was cut, and times it grew by one.
    pub decreases: u64,
    pub increases: u64,
    /// The limit after each change, oldest first (the newest `HISTORY`).
    pub history: VecDeque<usize>,
}

impl AimdStats {
    /// Whether the limit was cut and later grew again above the lowest point after the cut
    /// (it fell, then recovered).
    pub fn fell_then_recovered(&self) -> bool {
        let h = &self.history;
        let mut low: Option<usize> = None;
        let mut prev: Option<usize> = None;
        for &l in h {
            if let Some(p) = prev
                && l < p
            {
                low = Some(low.map_or(l, |x| x.min(l)));
            } else if let Some(x) = low
                && l > x
            {
                return true;
            }
            prev = Some(l);
        }
        false
    }
}

/// The window a request was sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
}

/// The controller.
#[derive(Debug, Clone)]
pub struct Aimd {
    cfg: AimdConfig,
    limit: usize,
    /// Answers in full since the limit last moved.
    acks: usize,
    epoch: u64,
    stats: AimdStats,
}

impl Aimd {
    pub fn new(cfg: AimdConfig) -> Self {
        let min = cfg.min.max(1);
        let max = cfg.max.max(min);
        let cfg = AimdConfig {
            min,
            max,
            initial: cfg.initial.clamp(min, max),
            decrease: cfg.decrease.clamp(0.01, 1.0),
        };
        let start = cfg.initial;
        Aimd {
            cfg,
            limit: start,
            acks: 0,
            epoch: 0,
            stats: AimdStats {
                limit: start,
                peak: start,
                lowest: start,
                history: VecDeque::from([start]),
                ..Default::default()
            },
        }
    }

    pub fn config(&self) -> AimdConfig {
        self.cfg
    }

    /// Requests that may be in flight now.
    pub fn limit(&self) -> usize {
        self.limit.clamp(self.cfg.min, self.cfg.max)
    }

    /// Take a ticket for a request about to be sent.
    pub fn ticket(&self) -> Ticket {
        Ticket { epoch: self.epoch }
    }

    /// The request was answered in full.
    pub fn success(&mut self, _t: Ticket) {
        self.stats.successes += 1;
        self.acks += 1;
        if self.acks >= self.limit && self.limit < self.cfg.max {
            self.acks = 0;
            self.limit += 1;
            self.stats.increases += 1;
            self.record();
        }
    }

    /// The request was throttled (an error, or items left unprocessed).
    pub fn throttled(&mut self, t: Ticket) {
        self.stats.throttles += 1;
        if t.epoch != self.epoch {
            return; // sent before the last cut: the same congestion
        }
        self.epoch += 1;
        self.acks = 0;
        let before = self.limit;
        self.limit = ((self.limit as f64 * self.cfg.decrease).floor() as usize).max(self.cfg.min);
        if self.limit < before {
            self.stats.decreases += 1;
            self.record();
        }
    }

    fn record(&mut self) {
        let l = self.limit();
        self.stats.limit = l;
        self.stats.peak = self.stats.peak.max(l);
        self.stats.lowest = self.stats.lowest.min(l);
        if self.stats.history.len() == HISTORY {
            self.stats.history.pop_front();
        }
        self.stats.history.push_back(l);
    }

    pub fn stats(&self) -> AimdStats {
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(initial: usize, min: usize, max: usize) -> AimdConfig {
        AimdConfig {
            initial,
            min,
            max,
            decrease: 0.5,
        }
    }

    #[test]
    fn grows_by_one_per_window_of_answers() {
        let mut a = Aimd::new(cfg(4, 1, 32));
        for _ in 0..4 {
            a.success(a.ticket());
        }
        assert_eq!(a.limit(), 5, "four answers at a limit of 4 add one");
        for _ in 0..5 {
            a.success(a.ticket());
        }
        assert_eq!(a.limit(), 6);
        assert_eq!(a.stats().increases, 2);
        assert_eq!(a.stats().history, VecDeque::from([4, 5, 6]));
    }

    #[test]
    fn never_above_max() {
        let mut a = Aimd::new(cfg(4, 1, 6));
        for _ in 0..1000 {
            a.success(a.ticket());
        }
        assert_eq!(a.limit(), 6);
        assert_eq!(a.stats().peak, 6);
    }

    #[test]
    fn a_throttle_halves_once_per_window() {
        let mut a = Aimd::new(cfg(16, 1, 32));
        // Sixteen requests in flight, all sent before any answer.
        let tickets: Vec<Ticket> = (0..16).map(|_| a.ticket()).collect();
        for t in &tickets {
            a.throttled(*t);
        }
        assert_eq!(
            a.limit(),
            8,
            "throttles of one window cut once, not sixteen times"
        );
        assert_eq!(a.stats().decreases, 1);
        assert_eq!(a.stats().throttles, 16);
        // A request sent after the cut that is throttled cuts again.
        let t = a.ticket();
        a.throttled(t);
        assert_eq!(a.limit(), 4);
    }

    #[test]
    fn never_below_min() {
        let mut a = Aimd::new(cfg(4, 2, 32));
        for _ in 0..10 {
            let t = a.ticket();
            a.throttled(t);
        }
        assert_eq!(a.limit(), 2);
        assert_eq!(a.stats().lowest, 2);
        let mut one = Aimd::new(cfg(1, 0, 8));
        let t = one.ticket();
        one.throttled(t);
        assert_eq!(
            one.limit(),
            1,
            "a min of 0 is 1: the writer always makes progress"
        );
    }

    #[test]
    fn falls_then_recovers() {
        let mut a = Aimd::new(cfg(8, 1, 32));
        let t = a.ticket();
        a.throttled(t);
        let t = a.ticket();
        a.throttled(t);
        assert_eq!(a.limit(), 2);
        assert!(!a.stats().fell_then_recovered());
        for _ in 0..2 {
            a.success(a.ticket());
        }
        assert_eq!(a.limit(), 3);
        let s = a.stats();
        assert!(s.fell_then_recovered(), "{s:?}");
        assert_eq!((s.peak, s.lowest, s.limit), (8, 2, 3));
    }

    #[test]
    fn fixed_never_moves() {
        let mut a = Aimd::new(AimdConfig::fixed(4));
        for _ in 0..100 {
            a.success(a.ticket());
            let t = a.ticket();
            a.throttled(t);
        }
        assert_eq!(a.limit(), 4);
        let s = a.stats();
        assert_eq!((s.decreases, s.increases), (0, 0));
        assert!(!s.fell_then_recovered());
    }

    #[test]
    fn bad_configs_are_made_sane() {
        let a = Aimd::new(AimdConfig {
            initial: 100,
            min: 5,
            max: 3,
            decrease: 7.0,
        });
        assert_eq!(a.limit(), 5, "max below min is min; initial is clamped");
        let mut b = Aimd::new(AimdConfig {
            initial: 8,
            min: 1,
            max: 8,
            decrease: -1.0,
        });
        let t = b.ticket();
        b.throttled(t);
        assert_eq!(b.limit(), 1, "a decrease below 0 is a cut to the floor");
    }

    #[test]
    fn history_keeps_the_newest() {
        let mut a = Aimd::new(cfg(1, 1, 2));
        for _ in 0..HISTORY {
            a.success(a.ticket());
            let t = a.ticket();
            a.throttled(t);
        }
        a.success(a.ticket());
        let s = a.stats();
        assert_eq!(
            (s.increases, s.decreases),
            (HISTORY as u64 + 1, HISTORY as u64)
        );
        assert_eq!(s.history.len(), HISTORY);
        assert_eq!(s.history.back(), Some(&2));
    }
}
