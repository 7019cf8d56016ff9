//! A call's life after the create: its statuses at scripted times, and the signed status
//! callbacks Twilio would send.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use shared::domain::CallStatus;
use shared::domain::masking::{mask_phone, mask_phones_in};
use shared::twilio::client::format_date;
use shared::twilio::signature;

use crate::script::{Behaviour, CallbackMode, SimOutcome};
use crate::{CallbackRecord, Shared};

/// One status change: `after` seconds (unscaled) after the previous one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub after: f64,
    pub status: CallStatus,
}

/// The statuses a call goes through after `queued`.
pub(crate) fn steps(b: &Behaviour, timeout: u32) -> Vec<Step> {
    let s = |after: f64, status| Step { after, status };
    match b.outcome {
        SimOutcome::Completed | SimOutcome::Machine => {
            let talk = b.duration.unwrap_or(if b.outcome == SimOutcome::Machine {
                10
            } else {
                30
            });
            vec![
                s(0.2, CallStatus::Initiated),
                s(1.0, CallStatus::Ringing),
                s(b.ring.unwrap_or(3.0), CallStatus::InProgress),
                s(f64::from(talk), CallStatus::Completed),
            ]
        }
        SimOutcome::Busy => {
            vec![
                s(0.2, CallStatus::Initiated),
                s(1.0, CallStatus::Ringing),
                s(b.ring.unwrap_or(2.0), CallStatus::Busy),
            ]
        }
        SimOutcome::NoAnswer => vec![
            s(0.2, CallStatus::Initiated),
            s(1.0, CallStatus::Ringing),
            s(b.ring.unwrap_or(f64::from(timeout)), CallStatus::NoAnswer),
        ],
        SimOutcome::Failed => vec![s(0.2, CallStatus::Initiated), s(1.0, CallStatus::Failed)],
    }
}

/// The `StatusCallbackEvent` name that asks for a status (terminal ones are always sent).
fn event_name(status: CallStatus) -> Option<&'static str> {
    match status {
        CallStatus::Initiated => Some("initiated"),
        CallStatus::Ringing => Some("ringing"),
        CallStatus::InProgress => Some("answered"),
        _ => None,
    }
}

/// What a call's timeline needs, copied out of the record at create time.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub status_callback: Option<String>,
    pub events: Vec<String>,
    pub machine_detection: bool,
    pub timeout: u32,
    pub behaviour: Behaviour,
    /// Real time the call waits in Twilio's queue before it is initiated.
    pub queued_for: std::time::Duration,
}

/// A callback held back: sequence number, form, status.
type Held = (u32, Vec<(String, String)>, String);

/// Runs the call to its end. Stops early when the simulator is reset or shut down.
pub(crate) async fn run(shared: Arc<Shared>, plan: Plan, generation: u64) {
    let mut seq: u32 = 0;
    let mut held: Vec<Held> = Vec::new();
    let answered_by = plan.machine_detection.then(|| {
        plan.behaviour.answered_by.clone().unwrap_or_else(|| {
            if plan.behaviour.outcome == SimOutcome::Machine {
                "machine_start".into()
            } else {
                "human".into()
            }
        })
    });
    tokio::time::sleep(plan.queued_for).await;
    for step in steps(&plan.behaviour, plan.timeout) {
        tokio::time::sleep(shared.scaled(step.after)).await;
        if shared.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let now = Utc::now();
        let terminal = step.status.is_terminal();
        {
            let mut st = shared.lock();
            let Some(rec) = st.call_mut(&plan.sid) else {
                return;
            };
            if rec.ended_at.is_some() {
                // Canceled or hung up through the REST API: the timeline stops here.
                return;
            }
            rec.status = step.status.as_str().to_string();
            match step.status {
                CallStatus::Initiated => rec.started_at = Some(now),
                CallStatus::InProgress => {
                    rec.answered_at = Some(now);
                    rec.answered_by.clone_from(&answered_by);
                }
                _ => {}
            }
            if terminal {
                rec.ended_at = Some(now);
                rec.duration = Some(if step.status == CallStatus::Completed {
                    step.after.round() as u32
                } else {
                    0
                });
            }
        }

        let Some(url) = plan.status_callback.clone() else {
            continue;
        };
        let wanted =
            terminal || event_name(step.status).is_some_and(|e| plan.events.iter().any(|x| x == e));
        if !wanted {
            continue;
        }
        let this_seq = seq;
        seq += 1;
        let params = callback_params(
            &shared,
            &plan,
            step.status,
            this_seq,
            answered_by.as_deref(),
            step.after,
            now,
        );
        let status = step.status.as_str();
        let send = |seq: u32, params: Vec<(String, String)>, status: String, duplicate: bool| {
            let (shared, sid, url) = (&shared, &plan.sid, &url);
            async move {
                deliver(
                    shared, sid, url, seq, &params, &status, duplicate, generation,
                )
                .await
            }
        };
        match plan.behaviour.callbacks {
            CallbackMode::None => {}
            CallbackMode::LoseTerminal if terminal => {
                tracing::info!(call_sid = %plan.sid, status, "scripted: terminal callback lost");
            }
            CallbackMode::Normal | CallbackMode::LoseTerminal => {
                send(this_seq, params, status.into(), false).await;
            }
            CallbackMode::Twice => {
                send(this_seq, params.clone(), status.into(), false).await;
                send(this_seq, params, status.into(), true).await;
            }
            CallbackMode::OutOfOrder => {
                if matches!(step.status, CallStatus::Ringing | CallStatus::InProgress) {
                    held.push((this_seq, params, status.into()));
                } else {
                    send(this_seq, params, status.into(), false).await;
                    if terminal {
                        for (s, p, st) in held.drain(..) {
                            send(s, p, st, false).await;
                        }
                    }
                }
            }
            CallbackMode::Reverse => {
                held.push((this_seq, params, status.into()));
                if terminal {
                    for (s, p, st) in held.drain(..).rev() {
                        send(s, p, st, false).await;
                    }
                }
            }
        }
    }
}

fn callback_params(
    shared: &Shared,
    plan: &Plan,
    status: CallStatus,
    seq: u32,
    answered_by: Option<&str>,
    after: f64,
    now: chrono::DateTime<Utc>,
) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("AccountSid", shared.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", plan.sid.as_str()),
        ("CallStatus", status.as_str()),
        ("Called", plan.to.as_str()),
        ("Caller", plan.from.as_str()),
        ("CallbackSource", "call-progress-events"),
        ("Direction", "outbound-api"),
        ("From", plan.from.as_str()),
        ("To", plan.to.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    p.push(("SequenceNumber".into(), seq.to_string()));
    p.push(("Timestamp".into(), format_date(now)));
    if status == CallStatus::Completed {
        p.push(("CallDuration".into(), (after.round() as u32).to_string()));
    }
    if let Some(a) = answered_by
        && matches!(status, CallStatus::InProgress | CallStatus::Completed)
    {
        p.push(("AnsweredBy".into(), a.to_string()));
    }
    p
}

/// The terminal callback of a call ended through the REST API (`Status=canceled|completed`).
pub(crate) async fn ended_by_api(
    shared: Arc<Shared>,
    sid: String,
    status: CallStatus,
    generation: u64,
) {
    let (url, to, from, seq) = {
        let st = shared.lock();
        let Some(rec) = st.index.get(&sid).and_then(|&i| st.calls.get(i)) else {
            return;
        };
        let seq = rec
            .callbacks
            .iter()
            .filter(|c| !c.duplicate && c.attempt == 1)
            .count() as u32;
        (
            rec.status_callback.clone(),
            rec.to.clone(),
            rec.from.clone(),
            seq,
        )
    };
    let Some(url) = url else { return };
    let plan = Plan {
        sid: sid.clone(),
        to,
        from,
        status_callback: Some(url.clone()),
        events: Vec::new(),
        machine_detection: false,
        timeout: 0,
        behaviour: Behaviour::default(),
        queued_for: std::time::Duration::ZERO,
    };
    let params = callback_params(&shared, &plan, status, seq, None, 0.0, Utc::now());
    deliver(
        &shared,
        &sid,
        &url,
        seq,
        &params,
        status.as_str(),
        false,
        generation,
    )
    .await;
}

/// Twilio's connection overrides, read from the `#...` fragment of a webhook URL
/// (`#rc=3&rp=5xx,ct,rt`): how many retries (`rc`, 0 to 5, default 1) and on what (`rp`:
/// `ct` connect failure, `rt` read timeout, `4xx`, `5xx`, `all`; default `ct,rt`). By default
/// an HTTP error answer is not retried, only a connection that failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Overrides {
    pub retries: u8,
    pub on_connection: bool,
    pub on_4xx: bool,
    pub on_5xx: bool,
}

impl Default for Overrides {
    fn default() -> Self {
        Self {
            retries: 1,
            on_connection: true,
            on_4xx: false,
            on_5xx: false,
        }
    }
}

/// The URL Twilio requests (without the fragment: it is never sent) and its overrides.
pub(crate) fn overrides(url: &str) -> (String, Overrides) {
    let Some((bare, fragment)) = url.split_once('#') else {
        return (url.to_string(), Overrides::default());
    };
    let mut o = Overrides::default();
    for (k, v) in fragment.split('&').filter_map(|kv| kv.split_once('=')) {
        match k {
            "rc" => o.retries = v.parse::<u8>().unwrap_or(1).min(5),
            "rp" => {
                let rp: Vec<&str> = v.split(',').map(str::trim).collect();
                let all = rp.contains(&"all");
                o.on_connection = all || rp.contains(&"ct") || rp.contains(&"rt");
                o.on_4xx = all || rp.contains(&"4xx");
                o.on_5xx = all || rp.contains(&"5xx");
            }
            _ => {}
        }
    }
    (bare.to_string(), o)
}

/// POSTs one callback, signed over the URL requested (the fragment is not part of it); retries
/// as the URL's connection overrides say (Twilio's default: once, only when the connection
/// failed), then drops it.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    shared: &Shared,
    sid: &str,
    url: &str,
    seq: u32,
    params: &[(String, String)],
    status: &str,
    duplicate: bool,
    generation: u64,
) {
    let (url, policy) = overrides(url);
    let url = url.as_str();
    let sig = signature::sign(&shared.token(), url, params);
    let tries = policy.retries.saturating_add(1);
    for attempt in 1..=tries {
        if shared.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let sent_at = Utc::now();
        let result = shared
            .http
            .post(url)
            .header(signature::HEADER, &sig)
            .form(params)
            .send()
            .await;
        let (delivered, http_status, error) = match result {
            Ok(r) if r.status().is_success() => (true, Some(r.status().as_u16()), None),
            Ok(r) => (
                false,
                Some(r.status().as_u16()),
                Some(format!("HTTP {}", r.status())),
            ),
            Err(e) => (false, None, Some(e.to_string())),
        };
        {
            let mut st = shared.lock();
            if let Some(rec) = st.call_mut(sid) {
                rec.callbacks.push(CallbackRecord {
                    status: status.to_string(),
                    sequence_number: seq,
                    sent_at,
                    attempt,
                    duplicate,
                    delivered,
                    http_status,
                    error: error.clone(),
                });
            }
        }
        if delivered {
            return;
        }
        let to = params
            .iter()
            .find(|(k, _)| k == "To")
            .map(|(_, v)| mask_phone(v))
            .unwrap_or_default();
        let error = error.as_deref().map(mask_phones_in);
        tracing::warn!(call_sid = sid, to = %to, status, attempt, error = ?error, "status callback failed");
        let retryable = match http_status {
            None => policy.on_connection,
            Some(400..=499) => policy.on_4xx,
            Some(_) => policy.on_5xx,
        };
        if !retryable {
            break;
        }
        if attempt < tries {
            tokio::time::sleep(shared.scaled(1.0).max(std::time::Duration::from_millis(1))).await;
        }
    }
    tracing::warn!(call_sid = sid, status, "status callback dropped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_twilios_order() {
        let names = |b: &Behaviour| {
            steps(b, 45)
                .iter()
                .map(|s| s.status.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&Behaviour::completed(30)),
            ["initiated", "ringing", "in-progress", "completed"]
        );
        assert_eq!(
            names(&Behaviour::outcome(SimOutcome::Busy)),
            ["initiated", "ringing", "busy"]
        );
        assert_eq!(
            names(&Behaviour::outcome(SimOutcome::NoAnswer)),
            ["initiated", "ringing", "no-answer"]
        );
        assert_eq!(
            names(&Behaviour::outcome(SimOutcome::Failed)),
            ["initiated", "failed"]
        );
        assert_eq!(
            names(&Behaviour::outcome(SimOutcome::Machine)),
            ["initiated", "ringing", "in-progress", "completed"]
        );
        // No-answer rings for the request's Timeout; a completed call talks for its duration.
        assert_eq!(
            steps(&Behaviour::outcome(SimOutcome::NoAnswer), 45)[2].after,
            45.0
        );
        assert_eq!(steps(&Behaviour::completed(600), 45)[3].after, 600.0);
    }

    #[test]
    fn connection_overrides_come_from_the_fragment() {
        let (url, o) = overrides("https://a.example/twilio/status?x=1");
        assert_eq!(
            (url.as_str(), o),
            ("https://a.example/twilio/status?x=1", Overrides::default())
        );
        let (url, o) = overrides("https://a.example/twilio/status?x=1#rc=3&rp=5xx,ct,rt");
        assert_eq!(url, "https://a.example/twilio/status?x=1");
        assert_eq!(
            o,
            Overrides {
                retries: 3,
                on_connection: true,
                on_4xx: false,
                on_5xx: true
            }
        );
        let (_, o) = overrides("https://a.example/s#rc=9&rp=all");
        assert_eq!(
            o,
            Overrides {
                retries: 5,
                on_connection: true,
                on_4xx: true,
                on_5xx: true
            }
        );
        let (_, o) = overrides("https://a.example/s#rp=4xx");
        assert_eq!(
            o,
            Overrides {
                retries: 1,
                on_connection: false,
                on_4xx: true,
                on_5xx: false
            }
        );
    }
}
