//! "Why isn't it dialing?": `GET /campaigns/{id}` says what the campaign waits for
//! (`stats.waiting`), against the local stack at chosen instants (a manual clock shared by the
//! API and the dialer), and within a bounded number of DynamoDB requests.

mod common;

use std::sync::Arc;
use std::time::Duration;

use campaigns::local::{Local, LocalOptions, start};
use chrono::{DateTime, TimeZone, Utc};
use common::*;
use serde_json::Value;
use shared::adapters::metrics::{RequestCounter, instrumented_dynamodb};
use shared::domain::CampaignState;
use shared::domain::settings::BusinessHoursInput;
use shared::ports::ManualClock;
use shared::service::dial::DialOutcome;

/// Wednesday 2026-01-14 04:08 UTC: 23:08 in New York, 13:08 in Tokyo.
fn night_in_new_york() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 14, 4, 8, 0).single().expect("instant")
}

async fn local_at(clock: ManualClock, counter: Option<RequestCounter>) -> Local {
    let sdk = sdk().await;
    let ddb = instrumented_dynamodb(&sdk, counter, None);
    start(LocalOptions {
        table: unique("t"),
        bucket: unique("b"),
        queue: unique("q"),
        schedule_group: "default".into(),
        port: 0,
        background: false,
        clock: Arc::new(clock),
        dynamodb: Some(ddb),
        ..LocalOptions::default()
    })
    .await
    .expect("local system")
}

async fn waiting_of(local: &Local, id: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}/campaigns/{id}", local.base_url))
        .bearer_auth(local.token("tester"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("GET /campaigns/{id}");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("JSON");
    v["stats"]["waiting"].clone()
}

/// Two contacts whose zones come from their numbers, as in most real files.
fn two_contacts(first: &str, second: &str) -> String {
    format!("phone,name\n{first},Ann\n{second},Bob\n")
}

const DC_1: &str = "+12025550101";
const DC_2: &str = "+12025550102";
const TOKYO_1: &str = "+81312345678";
const TOKYO_2: &str = "+81312345679";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_says_what_it_waits_for() {
    let clock = ManualClock::new(night_in_new_york());
    let counter = RequestCounter::default();
    let local = local_at(clock.clone(), Some(counter.clone())).await;
    let ny = "America/New_York";

    // The README's campaign at 23:08 in New York: both contacts wait for 08:00 their time.
    let c = running_campaign(&local.repo, settings(ny), &two_contacts(DC_1, DC_2), CampaignState::Running).await;
    assert_eq!(local.dialer.dial_next(&c.id).await.expect("dial"), DialOutcome::NothingDue);
    counter.reset();
    let w = waiting_of(&local, &c.id).await;
    let requests = counter.total();
    assert_eq!(w["reason"], "contact_windows", "{w}");
    assert_eq!(w["contact_window"]["contacts"], 2, "{w}");
    assert_eq!(w["contact_window"]["first_at"], "2026-01-14T13:00:00Z", "{w}");
    assert_eq!(w["next_event_at"], "2026-01-14T13:00:00Z", "{w}");
    assert_eq!(w["due_now"], 0);
    assert_eq!((w["examined"].as_u64(), w["queued"].as_u64()), (Some(2), Some(2)));
    assert!(w["summary"].as_str().is_some_and(|s| s.contains("08:00-21:00")), "{w}");
    // The campaign item and one Query on the head of the work queue.
    assert!(requests <= 2, "GET /campaigns/{{id}} made {requests} DynamoDB requests: {:?}", counter.snapshot());

    // One contact where it is day: due now, the dialer calls it.
    let c2 = running_campaign(&local.repo, settings(ny), &two_contacts(DC_1, TOKYO_1), CampaignState::Running).await;
    let w = waiting_of(&local, &c2.id).await;
    assert_eq!(w["reason"], "dialing", "{w}");
    assert_eq!(w["due_now"], 1, "{w}");
    assert_eq!(w["contact_window"]["contacts"], 1, "{w}");
    assert_eq!(w["next_event_at"], "2026-01-14T04:08:00Z", "{w}");

    // A DC number marked Asia/Tokyo in the file: every zone counts, as at the dialer, so it
    // waits until an hour inside both windows (23:00 UTC: 08:00 Tokyo, 18:00 New York), not
    // "due now" because it is day in Tokyo.
    let marked = "phone,name,timezone\n+12025550101,Ann,Asia/Tokyo\n";
    let c4 = running_campaign(&local.repo, settings(ny), marked, CampaignState::Running).await;
    assert_eq!(local.dialer.dial_next(&c4.id).await.expect("dial"), DialOutcome::NothingDue);
    let w = waiting_of(&local, &c4.id).await;
    assert_eq!(w["reason"], "contact_windows", "{w}");
    assert_eq!(w["contact_window"]["first_at"], "2026-01-14T23:00:00Z", "{w}");

    // Business hours closed (09:00-17:00 New York): says until when.
    let closed = shared::domain::SettingsInput {
        business_hours: Some(BusinessHoursInput {
            enabled: Some(true),
            days: Some(vec![1, 2, 3, 4, 5]),
            start_time: Some("09:00".into()),
            end_time: Some("17:00".into()),
        }),
        ..settings(ny)
    };
    let c3 = running_campaign(&local.repo, closed, &two_contacts(TOKYO_1, TOKYO_2), CampaignState::Running).await;
    let w = waiting_of(&local, &c3.id).await;
    assert_eq!(w["reason"], "business_hours", "{w}");
    assert_eq!(w["business_hours_open_at"], "2026-01-14T14:00:00Z", "{w}");

    // Morning in New York: the first campaign is due; a draft says how to start it.
    clock.set(Utc.with_ymd_and_hms(2026, 1, 14, 13, 0, 0).single().expect("instant"));
    let w = waiting_of(&local, &c.id).await;
    assert_eq!((w["reason"].as_str(), w["due_now"].as_u64()), (Some("dialing"), Some(2)), "{w}");
    let draft = running_campaign(&local.repo, settings(ny), &two_contacts(DC_1, DC_2), CampaignState::Draft).await;
    let w = waiting_of(&local, &draft.id).await;
    assert_eq!(w["reason"], "not_started", "{w}");
}
