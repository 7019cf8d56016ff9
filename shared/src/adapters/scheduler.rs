//! One-time EventBridge Scheduler wake-ups: "start campaign X at T" for the dialer.
//!
//! The rate(1 minute) tick would start a pending campaign anyway; the `at()` schedule makes
//! the start punctual. Schedules delete themselves after firing (ActionAfterCompletion DELETE).

use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum WakeupError {
    #[error("scheduler: {0}")]
    Sdk(String),
}

fn sdk_err<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    e: aws_sdk_scheduler::error::SdkError<E, R>,
) -> WakeupError {
    WakeupError::Sdk(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())
}

/// Schedules in one group, all targeting the dialer with one role. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Wakeups {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
    /// Wakes the dialer now (Start, Resume): a dial message without delay.
    dial_queue: Option<crate::adapters::sqs::DialQueue>,
}

/// The schedule's name for a campaign (names allow `[0-9a-zA-Z-_.]{1,64}`; ids are uuid hex).
pub fn schedule_name(campaign_id: &str) -> String {
    format!("start-{campaign_id}")
}

/// `at(yyyy-mm-ddThh:mm:ss)`, in UTC (the schedule's timezone is set to UTC).
pub fn at_expression(at: DateTime<Utc>) -> String {
    format!("at({})", at.format("%Y-%m-%dT%H:%M:%S"))
}

impl Wakeups {
    pub fn new(
        client: Client,
        group: impl Into<String>,
        target_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        Self {
            client,
            group: group.into(),
            target_arn: target_arn.into(),
            role_arn: role_arn.into(),
            dial_queue: None,
        }
    }

    /// Wake the dialer at once through this queue (`dial_now`); without it only the tick and
    /// the one-time schedules wake it.
    pub fn with_dial_queue(mut self, queue: crate::adapters::sqs::DialQueue) -> Self {
        self.dial_queue = Some(queue);
        self
    }

    /// Ask the dialer to dial the campaign now (one SQS message, no delay). Without a queue,
    /// nothing: the tick picks the campaign up.
    pub async fn dial_now(&self, campaign_id: &str) -> Result<(), crate::adapters::sqs::QueueError> {
        match &self.dial_queue {
            Some(q) => q.send(campaign_id, 0).await,
            None => Ok(()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Create (or move) the one-time schedule that wakes the dialer for `campaign_id` at `at`.
    pub async fn schedule_start(
        &self,
        campaign_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), WakeupError> {
        let name = schedule_name(campaign_id);
        let input = serde_json::json!({ "campaign_id": campaign_id }).to_string();
        let target = Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(input)
            .build()
            .map_err(|e| WakeupError::Sdk(e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| WakeupError::Sdk(e.to_string()))?;
        let expr = at_expression(at);
        let created = self
            .client
            .create_schedule()
            .name(&name)
            .group_name(&self.group)
            .schedule_expression(&expr)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window.clone())
            .target(target.clone())
            .action_after_completion(ActionAfterCompletion::Delete)
            .description("campaign start")
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                // Already there (a retried start, a resume): move it to the new time.
                self.client
                    .update_schedule()
                    .name(&name)
                    .group_name(&self.group)
                    .schedule_expression(&expr)
                    .schedule_expression_timezone("UTC")
                    .flexible_time_window(window)
                    .target(target)
                    .action_after_completion(ActionAfterCompletion::Delete)
                    .send()
                    .await
                    .map_err(sdk_err)?;
                Ok(())
            }
            Err(e) => Err(sdk_err(e)),
        }
    }

    /// Remove the campaign's start schedule; one that does not exist (fired, never made) is fine.
    pub async fn cancel(&self, campaign_id: &str) -> Result<(), WakeupError> {
        match self
            .client
            .delete_schedule()
            .name(schedule_name(campaign_id))
            .group_name(&self.group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_err(e)),
        }
    }

    /// Whether the campaign has a pending start schedule, and its expression (tests, operators).
    pub async fn get(&self, campaign_id: &str) -> Result<Option<String>, WakeupError> {
        match self
            .client
            .get_schedule()
            .name(schedule_name(campaign_id))
            .group_name(&self.group)
            .send()
            .await
        {
            Ok(out) => Ok(out.schedule_expression().map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_err(e)),
        }
    }

    /// Create the schedule group if missing (local stack and tests). "default" always exists.
    pub async fn ensure_group(&self) -> Result<(), WakeupError> {
        if self.group == "default" {
            return Ok(());
        }
        match self
            .client
            .create_schedule_group()
            .name(&self.group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn expression_and_name() {
        let t = Utc
            .with_ymd_and_hms(2026, 3, 8, 9, 5, 0)
            .single()
            .expect("valid");
        assert_eq!(at_expression(t), "at(2026-03-08T09:05:00)");
        assert!(schedule_name("0190a1b2c3d4e5f60718293a4b5c6d7e").len() <= 64);
    }
}
