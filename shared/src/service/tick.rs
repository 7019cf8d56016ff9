//! The scheduler tick at scale: every active campaign is looked at once a minute, within a
//! time budget, in two stages that run side by side.
//!
//! - The dial stage (DynamoDB only): starts campaigns whose time has come, completes finished
//!   ones, and sends one dial message per running campaign with a free slot inside its hours.
//!   Campaigns are handled concurrently (`tick_concurrency`), and dial messages leave in
//!   batches of ten as soon as ten are decided, so whatever was decided before the budget
//!   ends is sent.
//! - The watchdog stage: reconciles the expired leases of campaigns with calls in flight
//!   against Twilio, with its own concurrency (`watchdog_concurrency`) and a short timeout on
//!   each Twilio lookup, so a slow Twilio cannot hold back a single dial message.
//!
//! Campaigns are taken in id order starting from the tick's cursor (one per stage, stored in
//! `SYS#tick` / `CURSOR`); when the budget ends, the first campaign a stage did not finish is
//! recorded, so the next tick starts there and no campaign is starved by the ones before it.

use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;
use tracing::{info, warn};

use super::dial::{DialError, Dialer};
use crate::adapters::dynamodb::RepoError;
use crate::adapters::dynamodb::records::to_ms;
use crate::adapters::dynamodb::tick::TickCursor;
use crate::domain::compliance;
use crate::domain::hours::Window;
use crate::domain::{Campaign, CampaignState};

/// How long after a campaign's next dial was due the tick still counts on its delayed dial
/// message (SQS delivers to about a second; the dialer may be busy with a batch).
const MESSAGE_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// SendMessageBatch requests of the dial stage in flight at once.
const SENDS_IN_FLIGHT: usize = 16;

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    /// Campaigns in the active index.
    pub active: u32,
    /// Dial messages sent.
    pub dial_messages: u32,
    /// Campaigns whose part of the tick failed (logged; the next tick tries again).
    pub errors: u32,
    /// Campaigns the dial stage did not finish before the budget ended (first next time).
    pub left: u32,
    /// Campaigns with calls in flight whose leases the watchdog looked at.
    pub watched: u32,
    /// Campaigns with calls in flight the watchdog did not finish (first next time).
    pub watch_left: u32,
}

/// `campaigns` (sorted by id) rotated so the first id at or after `cursor` comes first.
fn rotate(mut campaigns: Vec<Campaign>, cursor: Option<&str>) -> Vec<Campaign> {
    if let Some(cursor) = cursor {
        let at = campaigns.partition_point(|c| c.id.as_str() < cursor);
        campaigns.rotate_left(at);
    }
    campaigns
}

/// The first campaign (in the stage's order) whose part did not finish.
fn first_left(order: &[String], done: &[bool]) -> Option<String> {
    done.iter().position(|d| !d).map(|i| order[i].clone())
}

impl Dialer {
    /// The scheduler tick with the configured budget (`tick_budget`).
    pub async fn tick(&self) -> Result<TickReport, DialError> {
        self.tick_within(self.config.tick_budget).await
    }

    /// The scheduler tick, ending within `budget` (the Lambda gives the time left before its
    /// deadline, less a margin). Cost grows with the number of active campaigns, not contacts:
    /// one query page per 1 MB of active campaigns, plus the writes and Twilio lookups there
    /// is work for.
    pub async fn tick_within(&self, budget: Duration) -> Result<TickReport, DialError> {
        let deadline = Instant::now() + budget;
        let mut campaigns = self.repo.active_campaigns().await?;
        campaigns.sort_by(|a, b| a.id.cmp(&b.id));
        let cursor = self.repo.tick_cursor().await.unwrap_or_else(|e| {
            warn!(error = %e, "tick cursor unreadable; starting from the first campaign");
            TickCursor::default()
        });
        let watch: Vec<Campaign> = campaigns
            .iter()
            .filter(|c| {
                matches!(c.state, CampaignState::Running | CampaignState::Paused)
                    && c.counters.calling > 0
            })
            .cloned()
            .collect();
        let watch = rotate(watch, cursor.watch.as_deref());
        let dial = rotate(campaigns, cursor.dial.as_deref());
        let mut report = TickReport {
            active: dial.len() as u32,
            ..TickReport::default()
        };
        // The dial stage keeps a reserve at the end for the last batch of messages.
        let reserve = (budget / 10).min(Duration::from_secs(2));
        let (dialed, watched) = tokio::join!(
            self.dial_stage(dial, deadline - reserve, &mut report),
            self.watch_stage(watch, deadline)
        );
        report.watched = watched.0;
        report.watch_left = watched.1;
        let next = TickCursor {
            dial: dialed,
            watch: watched.2,
        };
        if next != cursor
            && let Err(e) = self.repo.set_tick_cursor(&next).await
        {
            warn!(error = %e, "tick cursor not recorded; the next tick starts where this one did");
        }
        Ok(report)
    }

    /// Handle campaigns concurrently until `deadline`, sending their dial messages ten at a
    /// time as they are decided. Returns the first campaign not finished.
    async fn dial_stage(
        &self,
        order: Vec<Campaign>,
        deadline: Instant,
        report: &mut TickReport,
    ) -> Option<String> {
        let ids: Vec<String> = order.iter().map(|c| c.id.clone()).collect();
        let mut done = vec![false; ids.len()];
        let mut work = futures::stream::iter(order.into_iter().enumerate())
            .map(|(i, c)| async move { (i, self.tick_campaign(c).await) })
            .buffer_unordered(self.config.tick_concurrency.max(1));
        let mut batch: Vec<String> = Vec::new();
        let mut sends = FuturesUnordered::new();
        let mut exhausted = false;
        let sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                Some(sent) = sends.next(), if !sends.is_empty() => self.count_sent(sent, report),
                () = &mut sleep => break,
                next = work.next(), if !exhausted && sends.len() < SENDS_IN_FLIGHT => match next {
                    None => exhausted = true,
                    Some((i, result)) => {
                        done[i] = true;
                        match result {
                            Ok(Some(id)) => batch.push(id),
                            Ok(None) => {}
                            Err(e) => {
                                warn!(campaign_id = %ids[i], error = %e, "tick could not handle campaign");
                                report.errors += 1;
                            }
                        }
                        if batch.len() == 10 {
                            sends.push(self.send_batch(std::mem::take(&mut batch)));
                        }
                    }
                },
                else => break,
            }
            if exhausted && sends.is_empty() && batch.is_empty() {
                break;
            }
            if exhausted && !batch.is_empty() {
                sends.push(self.send_batch(std::mem::take(&mut batch)));
            }
        }
        // Campaigns still in progress are dropped here (each step is one conditional write,
        // so an interrupted one leaves nothing half done); what was decided is sent.
        drop(work);
        if !batch.is_empty() {
            sends.push(self.send_batch(std::mem::take(&mut batch)));
        }
        while let Some(sent) = sends.next().await {
            self.count_sent(sent, report);
        }
        report.left = done.iter().filter(|d| !**d).count() as u32;
        if report.left > 0 {
            info!(
                left = report.left,
                "tick budget ended before every campaign was handled; the next tick starts with them"
            );
        }
        first_left(&ids, &done)
    }

    async fn send_batch(&self, ids: Vec<String>) -> (usize, Result<(), String>) {
        let n = ids.len();
        match &self.queue {
            Some(q) => (n, q.send_many(&ids).await.map_err(|e| e.to_string())),
            None => (n, Ok(())),
        }
    }

    fn count_sent(&self, sent: (usize, Result<(), String>), report: &mut TickReport) {
        match sent {
            (n, Ok(())) => report.dial_messages += n as u32,
            (n, Err(e)) => {
                warn!(error = %e, messages = n, "dial messages not sent; the next tick sends them");
                report.errors += 1;
            }
        }
    }

    /// Reconcile the expired leases of the campaigns with calls in flight, a few campaigns at a
    /// time, until `deadline`. Returns (finished, not finished, first not finished).
    async fn watch_stage(
        &self,
        order: Vec<Campaign>,
        deadline: Instant,
    ) -> (u32, u32, Option<String>) {
        let ids: Vec<String> = order.iter().map(|c| c.id.clone()).collect();
        let mut done = vec![false; ids.len()];
        let mut work = futures::stream::iter(order.into_iter().enumerate())
            .map(|(i, c)| async move {
                let result = self.watchdog(&c).await;
                // A lease the watchdog ended may have freed a slot: dial at once.
                if matches!(result, Ok(n) if n > 0)
                    && c.state == CampaignState::Running
                    && let Err(e) = self.enqueue_now(&c.id).await
                {
                    warn!(campaign_id = %c.id, error = %e, "dial message after the watchdog not sent; the next tick sends it");
                }
                (i, result)
            })
            .buffer_unordered(self.config.watchdog_concurrency.max(1));
        let sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                () = &mut sleep => break,
                next = work.next() => match next {
                    None => break,
                    Some((i, result)) => {
                        done[i] = true;
                        if let Err(e) = result {
                            warn!(campaign_id = %ids[i], error = %e, "watchdog could not handle campaign");
                        }
                    }
                },
            }
        }
        let finished = done.iter().filter(|d| **d).count() as u32;
        (
            finished,
            ids.len() as u32 - finished,
            first_left(&ids, &done),
        )
    }

    /// One campaign's part of the dial stage, from the index's copy: start it if its time has
    /// come, complete it if nothing is open, and say whether it should be dialed now.
    async fn tick_campaign(&self, c: Campaign) -> Result<Option<String>, DialError> {
        let Some(c) = self.start_if_due(c).await? else {
            return Ok(None);
        };
        self.dial_decision(&c).await
    }

    /// A pending campaign whose start time has come starts now. `None` when another writer
    /// changed it meanwhile.
    async fn start_if_due(&self, c: Campaign) -> Result<Option<Campaign>, DialError> {
        let now = self.clock.now();
        if c.state != CampaignState::Pending || !c.start_due(now) {
            return Ok(Some(c));
        }
        match self
            .repo
            .transition(
                None,
                &c.id,
                &[CampaignState::Pending],
                CampaignState::Running,
                now,
                None,
            )
            .await
        {
            Ok(updated) => {
                info!(campaign_id = %c.id, "campaign started");
                Ok(Some(updated))
            }
            Err(RepoError::Conflict) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn dial_decision(&self, c: &Campaign) -> Result<Option<String>, DialError> {
        let now = self.clock.now();
        if c.state != CampaignState::Running {
            return Ok(None);
        }
        if c.counters.open() == 0 {
            if self.repo.try_complete(&c.id, to_ms(now)).await? {
                info!(campaign_id = %c.id, "campaign completed");
            }
            return Ok(None);
        }
        // Outside business hours or on a blocked date: no dial message until the window opens
        // (the tick looks again; nothing reads contacts meanwhile).
        if compliance::campaign_window(now, &c.settings) != Window::Open {
            return Ok(None);
        }
        // A campaign whose next dial waits (pacing, or its turn in the account's call rate), or
        // was due only moments ago, has a delayed dial message coming or being handled; a second
        // one would only compete with it (and take a second turn). A lost message is made up for
        // by a later tick.
        if c.next_dial_at.is_some_and(|t| t > now - MESSAGE_GRACE) {
            return Ok(None);
        }
        let free = c.counters.calling < u64::from(c.settings.max_concurrent_calls);
        Ok(free.then(|| c.id.clone()))
    }

    /// One campaign's part of the tick, read fresh (what an `at()` wake-up runs): start it if
    /// due, reconcile its expired leases, and return its id if it should be dialed now.
    pub async fn wake(&self, campaign_id: &str) -> Result<Option<String>, DialError> {
        let Some(c) = self.repo.get_campaign(campaign_id).await? else {
            return Ok(None);
        };
        let Some(c) = self.start_if_due(c).await? else {
            return Ok(None);
        };
        if matches!(c.state, CampaignState::Running | CampaignState::Paused)
            && c.counters.calling > 0
        {
            self.watchdog(&c).await?;
        }
        self.dial_decision(&c).await
    }
}
