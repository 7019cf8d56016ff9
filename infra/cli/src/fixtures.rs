//! Campaigns seeded straight into the store for the integration tests and the `*_figures`
//! examples: one place that knows which numbers can be dialled at the hour of the run and how a
//! draft with imported contacts is stored and set going.

use chrono::{Timelike, Utc};
use shared::adapters::dynamodb::Repo;
use shared::domain::{AgentSnapshot, Campaign, CampaignState, ImportState, SettingsInput};

/// Zones to call into, each with numbers whose own prefix lies in that zone alone and in no
/// state with stricter rules: the recipient window holds in every zone the contact may be in
/// (the number's and the timezone column's), so a run dials whatever the hour.
const DAYTIME: [(&str, &str); 6] = [
    ("America/New_York", "+1202555"),
    ("America/Los_Angeles", "+1213555"),
    ("Pacific/Honolulu", "+1808555"),
    ("Pacific/Guam", "+1671555"),
    ("Europe/London", "+44207946"),
    ("UTC", "+1202555"),
];

/// The first zone where it is daytime now (local 09:00-18:59) and its number prefix.
pub fn daytime() -> (&'static str, &'static str) {
    let now = Utc::now();
    DAYTIME
        .into_iter()
        .find(|(z, _)| {
            z.parse::<chrono_tz::Tz>()
                .is_ok_and(|tz| (9..=18).contains(&now.with_timezone(&tz).hour()))
        })
        .unwrap_or(DAYTIME[0])
}

/// `n` distinct valid numbers (n <= 2000) in the daytime zone: +1 202 555 1xxx style in the
/// US zones; in London +44 20 7946 0xxx, then +44 113 496 0xxx (Ofcom's drama ranges).
pub fn numbers(n: usize) -> Vec<String> {
    let prefix = daytime().1;
    if prefix.starts_with("+44") {
        (0..n)
            .map(|i| {
                if i < 1000 {
                    format!("{prefix}{i:04}")
                } else {
                    format!("+44113496{:04}", i - 1000)
                }
            })
            .collect()
    } else {
        (0..n).map(|i| format!("{prefix}{:04}", 1000 + i)).collect()
    }
}

/// A CSV with phone, name and timezone columns.
pub fn csv(numbers: &[String], tz: &str) -> String {
    let mut s = String::from("phone,name,timezone\n");
    for (i, p) in numbers.iter().enumerate() {
        s.push_str(&format!("{p},Contact {i},{tz}\n"));
    }
    s
}

/// A draft campaign `id` of `owner` stored with the contacts of `csv` imported, then moved to
/// `state` (left a draft when that is `Draft`), as read back from the store.
pub async fn seed_campaign(
    repo: &Repo,
    id: &str,
    owner: &str,
    input: SettingsInput,
    csv: &str,
    state: CampaignState,
) -> anyhow::Result<Campaign> {
    let now = Utc::now();
    let settings = input
        .validate(now, false)
        .map_err(|e| anyhow::anyhow!("settings: {e}"))?;
    let agent = AgentSnapshot {
        id: "agent-1".into(),
        name: "Sales Bot".into(),
        prompt_text: "Hello".into(),
    };
    let c = Campaign::new_draft(id, owner, settings, agent, ImportState::AwaitingUpload, now);
    repo.put_new_campaign(&c).await?;
    let parsed = contacts_parser::parse_file(
        csv.as_bytes(),
        "list.csv",
        &contacts_parser::ParseOptions::default(),
    )?;
    shared::service::import::import_parsed(repo, id, &parsed, now).await?;
    if state != CampaignState::Draft {
        repo.transition(None, id, &[CampaignState::Draft], state, now, None)
            .await?;
    }
    repo.get_campaign(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("campaign {id} vanished after seeding"))
}
