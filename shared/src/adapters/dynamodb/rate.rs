//! The account's call rate: one item (`SYS#rate` / `BUCKET`) that every call start of the
//! deployment passes through, because all campaigns share one Twilio account and Twilio
//! limits the account's call creates per second.
//!
//! The item keeps the instants of the last `rate` starts in fixed attributes `s1` (newest) ..
//! `s<rate>`. The claim transaction shifts them by one and writes the start's instant into
//! `s1`, on the condition that `s<rate>` (the rate-th newest start) is at least one window old:
//! "fewer than `rate` starts in the window before this one", checked by DynamoDB atomically
//! with the claim. A sliding window and not a refilling bucket, because a bucket of capacity
//! `rate` lets up to 2 x `rate` starts into some second; this never lets more than `rate`.
//!
//! A campaign that finds no start free takes a turn: `turn` is the latest turn handed out, and
//! each refused campaign adds one interval (window / rate) to it, so waiting campaigns are
//! served in the order they came, one interval apart, instead of all retrying at once. Its dial
//! message carries the turn; while anyone waits (the latest turn is still to come), a dial
//! without a turn is refused by the same condition and queues behind them, so newcomers cannot
//! take the starts of those waiting.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Update};

use super::error::{RepoError, classify};
use super::{Repo, n, s};

/// Partition and sort key of the rate item.
pub const RATE_PK: &str = "SYS#rate";
pub const BUCKET_SK: &str = "BUCKET";
/// The highest rate one item can hold (its update expression names every slot; DynamoDB caps
/// an expression at 4 KB). Beyond it the item would have to be split.
pub const MAX_RATE: u32 = 50;

const TURN: &str = "turn";

fn slot(i: u32) -> String {
    format!("s{i}")
}

fn build<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, RepoError> {
    r.map_err(|e| RepoError::Sdk(e.to_string()))
}

/// What the rate item says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateState {
    /// Recorded start instants (epoch ms), newest first.
    pub starts: Vec<i64>,
    /// The latest turn handed out (epoch ms), 0 when none.
    pub turn: i64,
}

impl RateState {
    /// When the next start may happen under `rate` starts per `window_ms`.
    pub fn next_free_ms(&self, rate: u32, window_ms: i64) -> i64 {
        match self.starts.get(rate as usize - 1) {
            Some(t) => t + window_ms,
            None => 0,
        }
    }

    fn from_item(item: &std::collections::HashMap<String, AttributeValue>, rate: u32) -> Self {
        let num = |name: &str| match item.get(name) {
            Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
            _ => None,
        };
        RateState {
            starts: (1..=rate)
                .filter_map(|i| num(&slot(i)).filter(|t| *t > 0))
                .collect(),
            turn: num(TURN).unwrap_or(0),
        }
    }
}

impl Repo {
    /// The claim's rate update: record a start at `now_ms` if fewer than `rate` starts happened
    /// in the `window_ms` before it, and, unless the dial holds a turn, if nobody waits for a
    /// turn (the latest turn handed out has come): a newcomer queues behind those waiting.
    pub fn rate_update(
        &self,
        now_ms: i64,
        rate: u32,
        window_ms: i64,
        holds_turn: bool,
    ) -> Result<Update, RepoError> {
        let rate = rate.clamp(1, MAX_RATE);
        let mut b = Update::builder()
            .table_name(&self.table)
            .key(super::keys::PK, s(RATE_PK))
            .key(super::keys::SK, s(BUCKET_SK));
        // Every operand is read from the item as it was before the update, so the shift is exact.
        let mut set: Vec<String> = (2..=rate)
            .rev()
            .map(|i| format!("#s{i} = if_not_exists(#s{}, :zero)", i - 1))
            .collect();
        set.push("#s1 = :now".into());
        set.push("#entity = :entity".into());
        for i in 1..=rate {
            b = b.expression_attribute_names(format!("#s{i}"), slot(i));
        }
        // Only a shift uses :zero, and a rate of one (Twilio's default) has nothing to shift:
        // DynamoDB refuses a value the expressions do not use.
        if rate > 1 {
            b = b.expression_attribute_values(":zero", n(0));
        }
        let mut cond = format!("(attribute_not_exists(#s{rate}) OR #s{rate} <= :cut)");
        if !holds_turn {
            cond.push_str(" AND (attribute_not_exists(#turn) OR #turn <= :now)");
            b = b.expression_attribute_names("#turn", TURN);
        }
        build(
            b.update_expression(format!("SET {}", set.join(", ")))
                .condition_expression(cond)
                .expression_attribute_names("#entity", "entity")
                .expression_attribute_values(":entity", s("rate"))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":cut", n(now_ms - window_ms))
                .build(),
        )
    }

    /// The rate item as it is now (strongly consistent).
    pub async fn rate_state(&self, rate: u32) -> Result<RateState, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(super::keys::PK, s(RATE_PK))
            .key(super::keys::SK, s(BUCKET_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(RateState::from_item(
            &out.item.unwrap_or_default(),
            rate.clamp(1, MAX_RATE),
        ))
    }

    /// Take the next turn: the latest turn plus `interval_ms`, or `earliest_ms` when the turns
    /// handed out so far are all before it (nobody is waiting). Returns the turn taken.
    pub async fn take_turn(&self, interval_ms: i64, earliest_ms: i64) -> Result<i64, RepoError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(super::keys::PK, s(RATE_PK))
            .key(super::keys::SK, s(BUCKET_SK))
            .update_expression("ADD #turn :interval")
            .expression_attribute_names("#turn", TURN)
            .expression_attribute_values(":interval", n(interval_ms))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        let turn = match out.attributes.as_ref().and_then(|a| a.get(TURN)) {
            Some(AttributeValue::N(v)) => v.parse::<i64>().unwrap_or(0),
            _ => 0,
        };
        if turn >= earliest_ms {
            return Ok(turn);
        }
        // Nobody is waiting: this turn starts the queue again at `earliest_ms`. Only if no one
        // else took a turn meanwhile (they then queue behind whichever value won).
        let reset = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(super::keys::PK, s(RATE_PK))
            .key(super::keys::SK, s(BUCKET_SK))
            .update_expression("SET #turn = :earliest")
            .condition_expression("#turn = :seen")
            .expression_attribute_names("#turn", TURN)
            .expression_attribute_values(":earliest", n(earliest_ms))
            .expression_attribute_values(":seen", n(turn))
            .send()
            .await;
        match reset {
            Ok(_) => Ok(earliest_ms),
            Err(e) => match classify(e) {
                RepoError::Conflict => Ok(earliest_ms),
                other => Err(other),
            },
        }
    }
}

impl Repo {
    /// A running campaign waits for its turn: its next dial may not start before `turn_ms`
    /// (the claim's pacing condition), so a second dial message for it (the tick's) waits too
    /// instead of taking a second turn. `Conflict` (ignored by the caller) when it is no longer
    /// running or already waits longer.
    pub async fn hold_for_turn(&self, campaign_id: &str, turn_ms: i64) -> Result<(), RepoError> {
        use super::keys::{META, PK, SK, campaign_pk};
        use super::records::attr;
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(META))
            .update_expression("SET #next = :turn")
            .condition_expression("#state = :running AND #next < :turn")
            .expression_attribute_names("#next", attr::NEXT_DIAL_MS)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":turn", n(turn_ms))
            .expression_attribute_values(
                ":running",
                s(crate::domain::CampaignState::Running.as_str()),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_start_waits_for_the_rate_th_newest_to_leave_the_window() {
        let state = RateState {
            starts: vec![5_000, 4_800, 4_600],
            turn: 0,
        };
        assert_eq!(
            state.next_free_ms(3, 1_000),
            5_600,
            "three starts in the window: the oldest leaves it at 5.6 s"
        );
        assert_eq!(
            state.next_free_ms(4, 1_000),
            0,
            "fewer starts than the rate: free now"
        );
    }
}
