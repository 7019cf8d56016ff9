//! The tick at scale (issue 12 item 1): campaigns handled concurrently within a time budget, a
//! slow Twilio that cannot hold back dial messages, and a cursor so a campaign left out of one
//! tick is first in the next. Against the emulator and the Twilio simulator; slowness is
//! injected by wrapping the real Twilio client and the real DynamoDB HTTP client.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use chrono::Utc;
use common::*;
use futures::future::BoxFuture;
use shared::adapters::dynamodb::Repo;
use shared::adapters::dynamodb::dial::Claim;
use shared::adapters::dynamodb::records::to_ms;
use shared::adapters::sqs::DialQueue;
use shared::domain::{Campaign, CampaignState};
use shared::ports::{CallInfo, CreateCall, SystemClock, Telephony, TelephonyError};
use shared::service::dial::{Dialer, DialerConfig};
use shared::twilio::client::TwilioClient;

/// The real Twilio client (to the simulator), each lookup answered `delay` late; the numbers
/// looked up are recorded in order.
#[derive(Debug)]
struct SlowLookups {
    inner: TwilioClient,
    delay: Duration,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Telephony for SlowLookups {
    fn create_call<'a>(
        &'a self,
        req: &'a CreateCall,
    ) -> BoxFuture<'a, Result<CallInfo, TelephonyError>> {
        self.inner.create_call(req)
    }
    fn fetch_call<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.inner.fetch_call(sid).await
        })
    }
    fn calls_to<'a>(
        &'a self,
        to: &'a str,
        since: chrono::DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<CallInfo>, TelephonyError>> {
        Box::pin(async move {
            self.asked.lock().expect("lock").push(to.to_string());
            tokio::time::sleep(self.delay).await;
            self.inner.calls_to(to, since).await
        })
    }
    fn call_event_urls<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Vec<String>, TelephonyError>> {
        self.inner.call_event_urls(sid)
    }
    fn cancel_call<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>> {
        self.inner.cancel_call(sid)
    }
}

/// The SDK's own HTTP client, with every UpdateItem held `delay` before it is sent; the
/// campaign key of each UpdateItem is recorded in the order sent.
#[derive(Debug, Clone)]
struct SlowUpdates {
    inner: SharedHttpClient,
    delay: Duration,
    sent: Arc<Mutex<Vec<String>>>,
}

#[derive(Debug)]
struct SlowConnector {
    inner: SharedHttpConnector,
    delay: Duration,
    sent: Arc<Mutex<Vec<String>>>,
}

impl HttpClient for SlowUpdates {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(SlowConnector {
            inner,
            delay: self.delay,
            sent: self.sent.clone(),
        })
    }
}

impl HttpConnector for SlowConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let update = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".UpdateItem"));
        let inner = self.inner.clone();
        let delay = self.delay;
        if update {
            let key = request
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v["Key"]["pk"]["S"].as_str().map(str::to_string))
                .unwrap_or_default();
            self.sent.lock().expect("lock").push(key);
        }
        HttpConnectorFuture::new(async move {
            if update {
                tokio::time::sleep(delay).await;
            }
            inner.call(request).await
        })
    }
}

/// The Twilio simulator (keep the handle: dropping it stops the server) and a client of it.
async fn simulator() -> (twilio_sim::SimHandle, TwilioClient) {
    let sim = twilio_sim::spawn(twilio_sim::SimConfig::default())
        .await
        .expect("simulator");
    let client = TwilioClient::new(sim.twilio_config("+15005550006")).expect("client");
    (sim, client)
}

async fn queue() -> DialQueue {
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let url = DialQueue::ensure(&sqs, &unique("q")).await.expect("queue");
    DialQueue::new(sqs, url)
}

/// Every message body in the queue (campaign ids), draining it.
async fn drain(q: &DialQueue) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let mut ids = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(q.url())
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let msgs = out.messages.unwrap_or_default();
        if msgs.is_empty() {
            return ids;
        }
        for m in msgs {
            let v: serde_json::Value =
                serde_json::from_str(m.body().unwrap_or("{}")).expect("json");
            ids.push(v["campaign_id"].as_str().unwrap_or_default().to_string());
            sqs.delete_message()
                .queue_url(q.url())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}

/// A running campaign with one contact, `phone`.
async fn one_contact_campaign(repo: &Repo, phone: &str, state: CampaignState) -> Campaign {
    running_campaign(
        repo,
        settings(daytime_zone()),
        &csv(&[phone.to_string()], daytime_zone()),
        state,
    )
    .await
}

/// Claim the campaign's contact with a lease that has already expired and no call recorded, as
/// if its dialer died before the create: the watchdog must ask Twilio about it.
async fn strand_a_lease(repo: &Repo, c: &Campaign) {
    let now_ms = to_ms(Utc::now());
    let contact = repo
        .due_contacts(&c.id, now_ms, 1)
        .await
        .expect("query")
        .pop()
        .expect("a due contact");
    let claim = Claim::next(c, &contact, now_ms - 600_000, now_ms - 1_000, now_ms);
    repo.claim(&claim).await.expect("claim");
}

fn dialer(
    repo: Repo,
    telephony: Arc<dyn Telephony>,
    q: DialQueue,
    tweak: impl FnOnce(&mut DialerConfig),
) -> Dialer {
    let mut config = DialerConfig {
        no_call_grace: Duration::from_secs(3600),
        ..DialerConfig::default()
    };
    tweak(&mut config);
    Dialer {
        repo,
        telephony,
        clock: Arc::new(SystemClock),
        queue: Some(q),
        config,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_twilio_does_not_hold_back_dial_messages() {
    let repo = fresh_repo().await;
    let q = queue().await;
    let phones = numbers(40);
    let mut free = Vec::new();
    for p in &phones[..30] {
        free.push(
            one_contact_campaign(&repo, p, CampaignState::Running)
                .await
                .id,
        );
    }
    // Ten campaigns whose only slot is held by an expired lease: the watchdog asks Twilio
    // about each, and Twilio takes 3 s to answer every lookup.
    for p in &phones[30..] {
        let c = one_contact_campaign(&repo, p, CampaignState::Running).await;
        strand_a_lease(&repo, &c).await;
    }
    let (_sim, client) = simulator().await;
    let slow = SlowLookups {
        inner: client,
        delay: Duration::from_secs(3),
        asked: Arc::default(),
    };
    let asked = slow.asked.clone();
    let d = dialer(repo, Arc::new(slow), q.clone(), |c| {
        c.watchdog_concurrency = 2;
        c.twilio_lookup_timeout = Duration::from_secs(10);
    });

    let started = std::time::Instant::now();
    let report = d.tick_within(Duration::from_secs(4)).await.expect("tick");
    let took = started.elapsed();

    let mut sent = drain(&q).await;
    sent.sort();
    free.sort();
    assert_eq!(
        sent, free,
        "every campaign with a free slot got its dial message, whatever Twilio's speed"
    );
    assert_eq!(report.dial_messages, 30);
    assert_eq!((report.active, report.left), (40, 0));
    assert!(
        took < Duration::from_millis(5500),
        "the tick ends at its budget (4 s), took {took:?}"
    );
    assert!(
        report.watch_left > 0,
        "ten 3 s lookups, two at a time, do not fit in 4 s: {report:?}"
    );
    assert!(
        asked.lock().expect("lock").len() >= 2,
        "the watchdog ran beside the dial stage"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_left_out_of_one_tick_is_first_in_the_next() {
    // Dial stage: pending campaigns whose start has come, each start an UpdateItem held 300 ms,
    // two at a time, in a 1 s budget: about six of twelve fit in a tick.
    let sdk = sdk().await;
    let plain = fresh_repo().await;
    let sent = Arc::new(Mutex::new(Vec::new()));
    let http = aws_smithy_http_client::Builder::new().build_http();
    let slow_http = SlowUpdates {
        inner: http,
        delay: Duration::from_millis(300),
        sent: sent.clone(),
    };
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(shared::config::local_dynamodb_endpoint())
        .http_client(slow_http)
        .build();
    let slow_repo = Repo::new(aws_sdk_dynamodb::Client::from_conf(conf), plain.table());
    let phones = numbers(12);
    let mut pending = Vec::new();
    for p in &phones {
        pending.push(
            one_contact_campaign(&plain, p, CampaignState::Pending)
                .await
                .id,
        );
    }
    let (_sim, client) = simulator().await;
    let twilio: Arc<dyn Telephony> = Arc::new(client);
    let d = dialer(slow_repo, twilio, queue().await, |c| c.tick_concurrency = 2);

    // On a loaded machine the index read alone may eat a 1 s budget: tick until at least two
    // campaigns have started (each tick goes on from the cursor the one before left).
    let mut first = d.tick_within(Duration::from_secs(1)).await.expect("tick 1");
    for _ in 0..8 {
        if first.left <= 10 {
            break;
        }
        first = d.tick_within(Duration::from_secs(1)).await.expect("tick 1");
    }
    assert!(
        first.left > 0 && first.left <= 10,
        "the budget cuts the first tick after two or more starts: {first:?}"
    );
    let cursor = plain
        .tick_cursor()
        .await
        .expect("cursor")
        .dial
        .expect("a cursor after a cut tick");
    let running = |ids: Vec<Campaign>| {
        ids.into_iter()
            .filter(|c| c.state == CampaignState::Running)
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    let mut all = Vec::new();
    for id in &pending {
        all.push(plain.get_campaign(id).await.expect("read").expect("exists"));
    }
    let started_first = running(all);
    assert!(
        !started_first.contains(&cursor),
        "the cursor names a campaign the first tick did not start"
    );
    // Put the started campaigns back to pending: the next tick then has all twelve to start
    // again, and only the cursor makes it begin where the first left off (in plain id order it
    // would begin with campaigns the first tick already handled, none of them the cursor).
    for id in &started_first {
        plain
            .transition(None, id, &[CampaignState::Running], CampaignState::Pending, Utc::now(), None)
            .await
            .expect("back to pending");
    }

    // Under load a tick may spend its whole budget reading the index and start nothing (its
    // cursor then stays): the first tick that sends anything is the one looked at.
    let mut tries = 0;
    let (second, order) = loop {
        sent.lock().expect("lock").clear();
        let report = d.tick_within(Duration::from_secs(1)).await.expect("tick 2");
        let order = sent.lock().expect("lock").clone();
        tries += 1;
        if !order.is_empty() || tries == 8 {
            break (report, order);
        }
    };
    assert!(
        order.iter().take(2).any(|k| *k == format!("C#{cursor}")),
        "the campaign left out of tick 1 is among the first the next tick handles (two at a time): {order:?}, cursor {cursor}"
    );
    assert!(second.left < 12, "the second tick started campaigns: {second:?}");
    // And nobody starves: a few more ticks start every campaign.
    for _ in 0..6 {
        if d.tick_within(Duration::from_secs(1))
            .await
            .expect("tick")
            .left
            == 0
        {
            break;
        }
    }
    for id in &pending {
        let c = plain.get_campaign(id).await.expect("read").expect("exists");
        assert_eq!(
            c.state,
            CampaignState::Running,
            "campaign {id} started within a few ticks"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watchdog_resumes_where_its_budget_ended() {
    // Six campaigns with an expired lease each; one lookup takes 1.5 s, one campaign at a time,
    // in a 3 s budget: about one campaign per tick fits.
    let repo = fresh_repo().await;
    let phones = numbers(6);
    for p in &phones {
        let c = one_contact_campaign(&repo, p, CampaignState::Running).await;
        strand_a_lease(&repo, &c).await;
    }
    let (_sim, client) = simulator().await;
    let slow = SlowLookups {
        inner: client,
        delay: Duration::from_millis(1500),
        asked: Arc::default(),
    };
    let asked = slow.asked.clone();
    let d = dialer(repo.clone(), Arc::new(slow), queue().await, |c| {
        c.watchdog_concurrency = 1
    });

    // The campaign in progress when the budget ends is the first one not finished (one at a
    // time, in order); on a loaded machine a tick may finish none.
    let first = d.tick_within(Duration::from_secs(3)).await.expect("tick 1");
    assert!(first.watch_left > 0, "six 1.5 s lookups do not fit in 3 s: {first:?}");
    let asked_first = asked.lock().expect("lock").clone();
    let finished = &asked_first[..(first.watched as usize).min(asked_first.len())];
    asked.lock().expect("lock").clear();
    d.tick_within(Duration::from_secs(3)).await.expect("tick 2");
    let next = asked.lock().expect("lock").clone();
    let head = next.first().expect("the next tick asks about a lease");
    assert!(!finished.contains(head), "the next tick starts after what the first finished: {next:?}, {finished:?}");
    if let Some(cut) = asked_first.get(first.watched as usize) {
        assert_eq!(head, cut, "the campaign the budget cut is the first the next tick asks about");
    }
    // Rotation: within a few ticks every campaign's lease is looked at.
    let mut seen: std::collections::BTreeSet<String> = asked_first.into_iter().chain(next).collect();
    for _ in 0..10 {
        if seen.len() == 6 {
            break;
        }
        asked.lock().expect("lock").clear();
        d.tick_within(Duration::from_secs(3)).await.expect("tick");
        seen.extend(asked.lock().expect("lock").iter().cloned());
    }
    assert_eq!(
        seen.len(),
        6,
        "no campaign is starved by the ones before it: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slot_the_watchdog_frees_is_dialed_at_once() {
    // One slot, held by a lease whose dialer died before the create (no call at Twilio, claimed
    // ten minutes ago): the tick's dial stage sees no free slot; its watchdog releases the lease
    // and must ask for a dial at once, not leave the contact to the next tick (a minute later).
    let repo = fresh_repo().await;
    let phones = numbers(1);
    let c = one_contact_campaign(&repo, &phones[0], CampaignState::Running).await;
    strand_a_lease(&repo, &c).await;
    let (_sim, client) = simulator().await;
    let twilio: Arc<dyn Telephony> = Arc::new(client);
    let q = queue().await;
    let d = dialer(repo.clone(), twilio, q.clone(), |c| {
        c.no_call_grace = Duration::from_secs(60)
    });

    let report = d.tick_within(Duration::from_secs(20)).await.expect("tick");
    assert_eq!((report.watched, report.watch_left), (1, 0), "{report:?}");
    assert_eq!(report.dial_messages, 0, "no slot was free when the tick read the campaign: {report:?}");
    let contact = repo
        .due_contacts(&c.id, to_ms(Utc::now()), 1)
        .await
        .expect("query")
        .pop()
        .expect("the released contact is due again");
    assert_eq!(contact.phone, phones[0]);
    assert_eq!(drain(&q).await, vec![c.id.clone()], "one dial message, sent by the watchdog");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paced_campaign_is_queued_for_when_its_pacing_ends() {
    // Two slots, 3 s between starts: the first call queues the next start 3 s on; a dial that
    // comes early is told to wait and queues itself for then, not at once (at once it would come
    // straight back, wait again, and spin on the queue for the whole delay).
    let repo = fresh_repo().await;
    let phones = numbers(3);
    let mut input = settings(daytime_zone());
    input.max_concurrent_calls = Some(2);
    input.pacing = Some(shared::domain::settings::PacingInput { delay_seconds: Some(3) });
    let rows: Vec<String> = phones.clone();
    let c = running_campaign(&repo, input, &csv(&rows, daytime_zone()), CampaignState::Running).await;
    let (_sim, client) = simulator().await;
    let twilio: Arc<dyn Telephony> = Arc::new(client);
    let q = queue().await;
    let d = dialer(repo.clone(), twilio, q.clone(), |_| {});

    let first = d.dial_next(&c.id).await.expect("dial 1");
    assert!(matches!(first, shared::service::dial::DialOutcome::Dialed { .. }), "{first:?}");
    let early = d.dial_next(&c.id).await.expect("dial 2");
    let shared::service::dial::DialOutcome::Paced(next) = early else {
        panic!("a dial within the pacing delay waits: {early:?}")
    };
    let wait = (next - Utc::now()).num_milliseconds();
    assert!((1_000..=3_000).contains(&wait), "the next start is ~3 s away: {wait} ms");
    assert_eq!(drain(&q).await, Vec::<String>::new(), "both messages are delayed until the pacing ends");
    tokio::time::sleep(Duration::from_millis(wait as u64 + 1_500)).await;
    assert_eq!(drain(&q).await, vec![c.id.clone(), c.id.clone()], "both arrive once it has");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_stranded_after_a_claim_given_back_is_released_by_its_own_claim() {
    // Claim 1 was given back uncharged (Twilio answered 429): the contact is on claim 2 with one
    // charged attempt. Claim 2's dialer died before the create. The watchdog must reconcile
    // claim 2 (its attempt item, its condition), not the attempt count's namesake, claim 1.
    let repo = fresh_repo().await;
    let phones = numbers(1);
    let c = one_contact_campaign(&repo, &phones[0], CampaignState::Running).await;
    let now_ms = to_ms(Utc::now());
    let contact = repo.due_contacts(&c.id, now_ms, 1).await.expect("query").pop().expect("due");
    repo.claim(&Claim::next(&c, &contact, now_ms - 700_000, now_ms - 650_000, now_ms - 700_000))
        .await
        .expect("claim 1");
    let leased = repo.get_contact(&c.id, &phones[0]).await.expect("read").expect("contact");
    repo.release(&c.id, &leased, 1, contact.state, now_ms - 690_000, None, now_ms - 690_000)
        .await
        .expect("claim 1 given back");
    strand_a_lease(&repo, &c).await;
    let stranded = repo.get_contact(&c.id, &phones[0]).await.expect("read").expect("contact");
    assert_eq!((stranded.claim, stranded.attempts), (2, 1), "claim 2, one attempt charged");

    let (_sim, client) = simulator().await;
    let twilio: Arc<dyn Telephony> = Arc::new(client);
    let q = queue().await;
    let d = dialer(repo.clone(), twilio, q, |c| c.no_call_grace = Duration::from_secs(60));
    d.tick_within(Duration::from_secs(20)).await.expect("tick");
    let after = repo.get_contact(&c.id, &phones[0]).await.expect("read").expect("contact");
    assert!(after.lease_until_ms.is_none() && after.state.is_dialable(), "claim 2's lease released: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_twilio_cannot_be_asked_about_past_the_give_up_ends_failed() {
    // Twilio cannot be asked about a stranded claim (every lookup times out). Within
    // RECONCILE_GIVE_UP the watchdog keeps trying; past it, the attempt ends failed with the
    // reason, so the contact is not stuck in "calling" for ever.
    let repo = fresh_repo().await;
    let phones = numbers(2);
    let c = one_contact_campaign(&repo, &phones[0], CampaignState::Running).await;
    strand_a_lease(&repo, &c).await;
    // And one claimed two seconds ago, its (short) lease over: well within the give-up.
    let fresh = one_contact_campaign(&repo, &phones[1], CampaignState::Running).await;
    let now_ms = to_ms(Utc::now());
    let contact = repo.due_contacts(&fresh.id, now_ms, 1).await.expect("query").pop().expect("due");
    repo.claim(&Claim::next(&fresh, &contact, now_ms - 2_000, now_ms - 1_000, now_ms - 2_000))
        .await
        .expect("claim");
    let (_sim, client) = simulator().await;
    let slow = SlowLookups {
        inner: client,
        delay: Duration::from_secs(5),
        asked: Arc::default(),
    };
    let d = dialer(repo.clone(), Arc::new(slow), queue().await, |c| {
        c.twilio_lookup_timeout = Duration::from_millis(200);
        c.reconcile_give_up = Duration::from_secs(60);
    });
    d.tick_within(Duration::from_secs(20)).await.expect("tick");
    let after = repo.get_contact(&c.id, &phones[0]).await.expect("read").expect("contact");
    assert!(after.lease_until_ms.is_none(), "the lease ended: {after:?}");
    let reason = after.failure_reason.clone().unwrap_or_default();
    assert!(reason.contains("could not be asked"), "the reason says why: {after:?}");
    assert_eq!(after.attempts, 1, "the attempt is charged: its call may have reached the person");
    let young = repo.get_contact(&fresh.id, &phones[1]).await.expect("read").expect("contact");
    assert_eq!(young.state, shared::domain::ContactState::Calling, "within the give-up the watchdog asks again later: {young:?}");
    assert!(young.failure_reason.is_none(), "{young:?}");
}
