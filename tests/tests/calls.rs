//! The owner's recent calls (`GET /calls`, the dashboard's Recent Calls tab) against the local
//! system: calls placed by the dialer through the Twilio simulator, read back over HTTP, page
//! by page, as their owner and as another owner.
//!
//! Needs the local stack (`make stack-up`); each test makes its own table, queue and simulator.

mod common;

use std::collections::BTreeSet;

use campaigns::local::Local;
use common::dialing::{local, ok, outcome, quick, sim_script, wait_state};
use serde_json::Value;
use shared::domain::{CampaignState, SettingsInput};
use twilio_sim::{Behaviour, Plan, Script, SimOutcome};

async fn get(local: &Local, user: Option<&str>, path: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", local.base_url));
    if let Some(u) = user {
        req = req.bearer_auth(local.token(u));
    }
    let r = req.send().await.expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Every call `user` sees, following `next_cursor` from the first page, `limit` a page; and
/// how many pages that took.
async fn every_call(local: &Local, user: &str, filter: &str, limit: u32) -> (Vec<Value>, usize) {
    let (mut calls, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut path = format!("/calls?limit={limit}{filter}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = get(local, Some(user), &path).await;
        assert_eq!(status, 200, "{path}: {page}");
        let rows = page["calls"].as_array().expect("calls").clone();
        assert!(
            rows.len() <= limit as usize,
            "a page holds at most `limit` calls: {page}"
        );
        calls.extend(rows);
        pages += 1;
        assert!(pages < 100, "the cursor never ends");
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (calls, pages),
        }
    }
}

/// (campaign, phone, attempt, start) of a call in `GET /calls` or an attempt in
/// `GET /campaigns/{id}/attempts` (given its campaign).
fn identity(campaign_id: &str, v: &Value) -> (String, String, u64, String) {
    (
        campaign_id.to_string(),
        v["phone"].as_str().expect("phone").to_string(),
        v["attempt"].as_u64().expect("attempt"),
        v["started_at"].as_str().expect("started_at").to_string(),
    )
}

fn started(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v["started_at"].as_str().expect("started_at"))
        .expect("an instant")
}

fn named(tz: &str, name: &str) -> SettingsInput {
    SettingsInput {
        name: Some(name.into()),
        ..quick(tz)
    }
}

/// What the campaign's own attempts route lists: the calls `GET /calls` must show for it.
async fn attempts_of(
    local: &Local,
    user: &str,
    id: &str,
) -> BTreeSet<(String, String, u64, String)> {
    let (status, page) = get(
        local,
        Some(user),
        &format!("/campaigns/{id}/attempts?limit=100"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| identity(id, a))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_calls_are_the_owners_own_newest_first_and_page_without_loss() {
    let local = local(true, |_| {}).await;
    sim_script(
        &local,
        Script {
            default: Plan::One(ok(1)),
            ..Default::default()
        },
    );
    let tz = common::daytime_zone();
    let nums = common::numbers(7);
    // Two campaigns of one owner, one after the other (so the second one's calls are the
    // newest), and a campaign of another owner.
    let first = common::running_campaign(
        &local.repo,
        named(tz, "First"),
        &common::csv(&nums[0..3], tz),
        CampaignState::Running,
    )
    .await;
    wait_state(&local, &first.id, CampaignState::Completed, 30).await;
    let second = common::running_campaign(
        &local.repo,
        named(tz, "Second"),
        &common::csv(&nums[3..5], tz),
        CampaignState::Running,
    )
    .await;
    wait_state(&local, &second.id, CampaignState::Completed, 30).await;
    let theirs = common::running_campaign_of(
        &local.repo,
        "other",
        named(tz, "Theirs"),
        &common::csv(&nums[5..7], tz),
        CampaignState::Running,
    )
    .await;
    wait_state(&local, &theirs.id, CampaignState::Completed, 30).await;

    // Two a page: three pages, every call once, exactly the two campaigns' attempts.
    let (calls, pages) = every_call(&local, "tester", "", 2).await;
    assert_eq!((calls.len(), pages), (5, 3), "{calls:#?}");
    let listed: Vec<_> = calls
        .iter()
        .map(|c| identity(c["campaign_id"].as_str().expect("campaign_id"), c))
        .collect();
    let unique: BTreeSet<_> = listed.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "no call twice across pages: {listed:#?}"
    );
    let mut expected = attempts_of(&local, "tester", &first.id).await;
    expected.extend(attempts_of(&local, "tester", &second.id).await);
    assert_eq!(
        unique, expected,
        "the calls are the owner's attempts, none lost"
    );

    // Newest first: the second campaign's two calls, then the first one's three.
    for pair in calls.windows(2) {
        assert!(
            started(&pair[0]) >= started(&pair[1]),
            "newest first: {pair:#?}"
        );
    }
    let order: Vec<&str> = calls
        .iter()
        .map(|c| c["campaign_name"].as_str().expect("campaign_name"))
        .collect();
    assert_eq!(order, ["Second", "Second", "First", "First", "First"]);
    for c in &calls {
        assert_eq!(c["outcome"], "completed", "{c}");
        assert_eq!(c["finished"], true, "{c}");
        assert_eq!(c["released"], false, "{c}");
        assert!(
            c["call_sid"].as_str().is_some_and(|s| s.starts_with("CA")),
            "{c}"
        );
        assert!(c["duration_seconds"].as_u64().is_some(), "{c}");
        assert!(
            c["contact_name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Contact ")),
            "{c}"
        );
        assert!(c["twilio_error"].is_null(), "{c}");
    }
    // One page of 100 is the same list as the pages of two.
    let (one_page, pages) = every_call(&local, "tester", "", 100).await;
    assert_eq!((one_page, pages), (calls.clone(), 1));

    // Another owner sees only their own calls, and the owner none of theirs.
    let (their_calls, _) = every_call(&local, "other", "", 1).await;
    let theirs_listed: BTreeSet<_> = their_calls
        .iter()
        .map(|c| identity(c["campaign_id"].as_str().expect("campaign_id"), c))
        .collect();
    assert_eq!(
        theirs_listed,
        attempts_of(&local, "other", &theirs.id).await
    );
    assert_eq!(theirs_listed.len(), 2);
    for c in &calls {
        assert_ne!(
            c["campaign_id"],
            theirs.id.as_str(),
            "another owner's call listed: {c}"
        );
        assert!(
            !nums[5..7].contains(&c["phone"].as_str().expect("phone").to_string()),
            "{c}"
        );
    }
    let (_, nobody) = get(&local, Some("nobody"), "/calls").await;
    assert_eq!(
        nobody,
        serde_json::json!({"calls": [], "next_cursor": null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_calls_filter_by_outcome_show_twilios_refusal_and_refuse_bad_queries() {
    let local = local(true, |_| {}).await;
    let tz = common::daytime_zone();
    let nums = common::numbers(3);
    // A busy number (called three times: two retries), one answered, one Twilio refuses.
    let refused = Behaviour {
        reject_code: Some(21211),
        ..ok(1)
    };
    sim_script(
        &local,
        Script::default()
            .with(nums[0].clone(), outcome(SimOutcome::Busy))
            .with(nums[1].clone(), ok(1))
            .with(nums[2].clone(), refused),
    );
    let c = common::running_campaign(
        &local.repo,
        named(tz, "Mixed"),
        &common::csv(&nums, tz),
        CampaignState::Running,
    )
    .await;
    wait_state(&local, &c.id, CampaignState::Completed, 30).await;

    let (all, _) = every_call(&local, "tester", "", 100).await;
    assert_eq!(all.len(), 5, "{all:#?}");
    // One busy call a page: the filter reads past the other outcomes and loses none.
    let (busy, pages) = every_call(&local, "tester", "&outcome=busy", 1).await;
    assert_eq!(pages, 3, "{busy:#?}");
    assert!(
        busy.iter()
            .all(|b| b["outcome"] == "busy" && b["phone"] == nums[0].as_str()),
        "{busy:#?}"
    );
    let attempts: Vec<u64> = busy
        .iter()
        .map(|b| b["attempt"].as_u64().expect("attempt"))
        .collect();
    assert_eq!(attempts, [3, 2, 1], "newest first");
    let (done, _) = every_call(&local, "tester", "&outcome=completed", 25).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["phone"], nums[1].as_str());
    let (machine, pages) = every_call(&local, "tester", "&outcome=machine", 25).await;
    assert_eq!((machine.len(), pages), (0, 1));

    let refusal = all
        .iter()
        .find(|a| a["phone"] == nums[2].as_str())
        .expect("the refused number's call");
    assert_eq!(refusal["outcome"], "failed", "{refusal}");
    assert!(
        refusal["call_sid"].is_null(),
        "no call was created: {refusal}"
    );
    let error = refusal["twilio_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("21211"),
        "Twilio's error code is shown: {refusal}"
    );
    for a in all.iter().filter(|a| a["phone"] != nums[2].as_str()) {
        assert!(a["twilio_error"].is_null(), "{a}");
    }

    // The same errors as the other lists.
    let campaigns_cursor = {
        for name in ["x", "y"] {
            common::running_campaign(
                &local.repo,
                named(tz, name),
                &common::csv(&nums[..1], tz),
                CampaignState::Draft,
            )
            .await;
        }
        let (_, page) = get(&local, Some("tester"), "/campaigns?limit=1").await;
        page["next_cursor"]
            .as_str()
            .expect("a campaigns cursor")
            .to_string()
    };
    for (query, status, code, field) in [
        ("limit=0", 400, "invalid_query", Some("limit")),
        ("limit=101", 400, "invalid_query", Some("limit")),
        ("limit=ten", 400, "invalid_query", Some("limit")),
        ("outcome=answered", 400, "invalid_query", Some("outcome")),
        ("cursor=!!!", 400, "invalid_cursor", Some("cursor")),
        (
            &format!("cursor={campaigns_cursor}"),
            400,
            "invalid_cursor",
            Some("cursor"),
        ),
    ] {
        let (got, body) = get(&local, Some("tester"), &format!("/calls?{query}")).await;
        assert_eq!(got, status, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
        assert_eq!(body["error"]["field"].as_str(), field, "{query}: {body}");
    }
    let (status, body) = get(&local, None, "/calls").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
}
