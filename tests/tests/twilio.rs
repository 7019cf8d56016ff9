//! The Twilio client against the simulator over real HTTP, and the simulator's signed,
//! scripted callbacks arriving at a receiver in the test. No AWS needed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use chrono::Utc;
use shared::domain::CallStatus;
use shared::ports::Telephony;
use shared::twilio::signature::{self, verify};
use shared::twilio::{CreateCall, TelephonyError, TwilioClient, TwilioConfig};
use twilio_sim::{Behaviour, CallbackMode, Script, SimConfig, SimHandle, SimOutcome};

const FROM: &str = "+12025550000";

/// A callback as the receiver saw it.
#[derive(Debug, Clone)]
struct Got {
    params: Vec<(String, String)>,
    valid_signature: bool,
}

impl Got {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn status(&self) -> &str {
        self.get("CallStatus").unwrap_or("")
    }
    fn seq(&self) -> u32 {
        self.get("SequenceNumber")
            .and_then(|s| s.parse().ok())
            .unwrap_or(u32::MAX)
    }
}

#[derive(Clone)]
struct Receiver {
    base: String,
    token: String,
    got: Arc<Mutex<Vec<Got>>>,
    answer: StatusCode,
}

/// An axum server that records every status callback and checks its signature over the
/// exact URL it was called at (scheme, host, path and query).
async fn receiver(token: &str, answer: StatusCode) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let rx = Receiver {
        base,
        token: token.to_string(),
        got: Arc::default(),
        answer,
    };
    let app = Router::new()
        .route("/twilio/status", post(on_status))
        .with_state(rx.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    rx
}

async fn on_status(
    State(rx): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> StatusCode {
    let url = format!(
        "{}{}",
        rx.base,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let sig = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    let valid_signature = verify(&rx.token, &url, &params, sig);
    rx.got.lock().expect("lock").push(Got {
        params,
        valid_signature,
    });
    rx.answer
}

impl Receiver {
    fn url(&self, attempt: u32) -> String {
        format!(
            "{}/twilio/status?campaign=c1&contact=%2B12025550100&attempt={attempt}",
            self.base
        )
    }
    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }
    fn for_call(&self, sid: &str) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| g.get("CallSid") == Some(sid))
            .collect()
    }
}

async fn sim_with(cfg: SimConfig) -> (SimHandle, TwilioClient) {
    let sim = twilio_sim::spawn(cfg).await.expect("spawn simulator");
    let client = TwilioClient::new(sim.twilio_config(FROM)).expect("client");
    (sim, client)
}

/// Every simulated second lasts a millisecond.
async fn sim(script: Script) -> (SimHandle, TwilioClient) {
    sim_with(SimConfig {
        time_scale: 0.001,
        script,
        ..SimConfig::default()
    })
    .await
}

fn req(to: &str, status_callback: String, amd: bool) -> CreateCall {
    CreateCall {
        to: to.into(),
        from: FROM.into(),
        url: "https://api.example.com/twilio/voice?c=c1".into(),
        status_callback,
        timeout_seconds: 30,
        machine_detection: amd,
    }
}

async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn ended(sim: &SimHandle, sid: &str) -> twilio_sim::CallRecord {
    eventually("the call to end", || {
        sim.record()
            .calls
            .into_iter()
            .find(|c| c.sid == sid && c.ended_at.is_some())
    })
    .await
}

#[tokio::test]
async fn create_then_signed_callbacks_in_order_then_fetch() {
    let (sim, client) = sim(Script::default().with("+12025550100", Behaviour::completed(30))).await;
    let rx = receiver(&sim.auth_token, StatusCode::NO_CONTENT).await;

    let info = client
        .create_call(&req("+12025550100", rx.url(1), false))
        .await
        .expect("created");
    assert!(
        info.sid.starts_with("CA") && info.sid.len() == 34,
        "{}",
        info.sid
    );
    assert_eq!(info.status, CallStatus::Queued);
    assert_eq!(info.to, "+12025550100");
    assert!(info.date_created.is_some());

    let got = eventually("four callbacks", || {
        Some(rx.for_call(&info.sid)).filter(|g| g.len() == 4)
    })
    .await;
    let statuses: Vec<&str> = got.iter().map(Got::status).collect();
    assert_eq!(
        statuses,
        ["initiated", "ringing", "in-progress", "completed"]
    );
    assert_eq!(got.iter().map(Got::seq).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert!(
        got.iter().all(|g| g.valid_signature),
        "every callback is signed over the exact URL"
    );
    let last = &got[3];
    assert_eq!(last.get("CallDuration"), Some("30"));
    assert_eq!(last.get("AccountSid"), Some(sim.account_sid.as_str()));
    assert_eq!(
        (last.get("To"), last.get("From"), last.get("Direction")),
        (Some("+12025550100"), Some(FROM), Some("outbound-api"))
    );
    assert!(
        last.get("Timestamp")
            .and_then(shared::twilio::client::parse_date)
            .is_some()
    );
    assert_eq!(
        last.get("AnsweredBy"),
        None,
        "no AnsweredBy without machine detection"
    );
    assert!(got[0].get("CallDuration").is_none());

    let fetched = client
        .fetch_call(&info.sid)
        .await
        .expect("fetch")
        .expect("exists");
    assert_eq!(
        (fetched.status, fetched.duration_seconds),
        (CallStatus::Completed, Some(30))
    );
    assert!(fetched.start_time.is_some());

    // The record holds the request exactly as the client sent it.
    let rec = sim.record();
    let call = &rec.calls[0];
    let values = |name: &str| {
        call.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values("StatusCallbackEvent"),
        ["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(values("StatusCallbackMethod"), ["POST"]);
    assert_eq!(values("StatusCallback"), [rx.url(1).as_str()]);
    assert_eq!(values("Timeout"), ["30"]);
    assert_eq!(values("From"), [FROM]);
    assert!(values("MachineDetection").is_empty());
    let (created, answered, end) = (
        call.created_at,
        call.answered_at.expect("answered"),
        call.ended_at.expect("ended"),
    );
    assert!(created <= answered && answered <= end);
    assert_eq!(rec.max_in_flight, 1);
}

#[tokio::test]
async fn outcomes_busy_no_answer_failed_and_machine() {
    let script = Script::default()
        .with("+12025550101", Behaviour::outcome(SimOutcome::Busy))
        .with("+12025550102", Behaviour::outcome(SimOutcome::NoAnswer))
        .with("+12025550103", Behaviour::outcome(SimOutcome::Failed))
        .with("+12025550104", Behaviour::outcome(SimOutcome::Machine))
        .with("+12025550105", Behaviour::completed(5));
    let (sim, client) = sim(script).await;
    let rx = receiver(&sim.auth_token, StatusCode::OK).await;
    let cases = [
        (
            "+12025550101",
            false,
            vec!["initiated", "ringing", "busy"],
            None,
        ),
        (
            "+12025550102",
            false,
            vec!["initiated", "ringing", "no-answer"],
            None,
        ),
        ("+12025550103", false, vec!["initiated", "failed"], None),
        (
            "+12025550104",
            true,
            vec!["initiated", "ringing", "in-progress", "completed"],
            Some("machine_start"),
        ),
        (
            "+12025550105",
            true,
            vec!["initiated", "ringing", "in-progress", "completed"],
            Some("human"),
        ),
    ];
    for (to, amd, want, answered_by) in cases {
        let info = client
            .create_call(&req(to, rx.url(1), amd))
            .await
            .expect("created");
        let got = eventually(to, || {
            Some(rx.for_call(&info.sid)).filter(|g| g.len() == want.len())
        })
        .await;
        assert_eq!(
            got.iter().map(Got::status).collect::<Vec<_>>(),
            want,
            "{to}"
        );
        assert_eq!(
            got.last().and_then(|g| g.get("AnsweredBy")),
            answered_by,
            "{to}"
        );
        let fetched = client
            .fetch_call(&info.sid)
            .await
            .expect("fetch")
            .expect("exists");
        assert_eq!(fetched.status.as_str(), *want.last().expect("terminal"));
        assert_eq!(fetched.answered_by.as_deref(), answered_by);
    }
    let record = sim.record();
    let amd_params = &record.calls_to("+12025550104")[0].params;
    assert!(amd_params.contains(&("MachineDetection".into(), "Enable".into())));
}

#[tokio::test]
async fn rate_limited_twice_then_accepted() {
    let (sim, client) = sim(Script::default().with(
        "+12025550110",
        Behaviour {
            reject_429: 2,
            ..Behaviour::completed(1)
        },
    ))
    .await;
    let r = req("+12025550110", "http://127.0.0.1:9/unused".into(), false);
    for _ in 0..2 {
        match client.create_call(&r).await {
            Err(TelephonyError::Retryable { status: 429, .. }) => {}
            other => panic!("expected 429, got {other:?}"),
        }
    }
    client.create_call(&r).await.expect("third try is accepted");
    let rec = sim.record();
    assert_eq!(rec.rejected.len(), 2);
    assert!(
        rec.rejected
            .iter()
            .all(|x| x.status == 429 && x.code == 20429)
    );
    assert_eq!(rec.calls.len(), 1, "a refused create places no call");
}

#[tokio::test]
async fn invalid_numbers_are_rejected_with_twilios_code() {
    let (_sim, client) = sim(Script::default().with(
        "+12025550111",
        Behaviour {
            reject_code: Some(21211),
            ..Behaviour::default()
        },
    ))
    .await;
    for to in ["+12025550111", "12345"] {
        match client
            .create_call(&req(to, "http://127.0.0.1:9/x".into(), false))
            .await
        {
            Err(TelephonyError::Rejected {
                status: 400,
                code: Some(21211),
                message,
            }) => {
                assert!(message.contains("not a valid phone number"), "{message}")
            }
            other => panic!("{to}: expected 21211, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_credentials_are_unauthorized_everywhere() {
    let (sim, _) = sim(Script::default()).await;
    let mut creds = sim.credentials(FROM);
    creds.auth_token = "wrong".into();
    let client = TwilioClient::new(TwilioConfig::with_credentials(sim.base_url.clone(), creds))
        .expect("client");
    let unauthorized = |r: Result<(), TelephonyError>| {
        matches!(r, Err(TelephonyError::Unauthorized { status: 401, .. }))
    };
    assert!(unauthorized(
        client
            .create_call(&req("+12025550100", "http://127.0.0.1:9/x".into(), false))
            .await
            .map(drop)
    ));
    assert!(unauthorized(
        client
            .fetch_call("CA00000000000000000000000000000000")
            .await
            .map(drop)
    ));
    assert!(unauthorized(
        client.calls_to("+12025550100", Utc::now()).await.map(drop)
    ));
    assert!(sim.record().calls.is_empty());
}

#[tokio::test]
async fn unknown_call_is_none_and_unreachable_twilio_is_transport() {
    let (_sim, client) = sim(Script::default()).await;
    assert!(
        client
            .fetch_call("CAffffffffffffffffffffffffffffffff")
            .await
            .expect("404 is not an error")
            .is_none()
    );

    // A port nothing listens on: the call may or may not exist, so Transport.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let creds = shared::twilio::Credentials {
        account_sid: "AC1".into(),
        auth_token: "t".into(),
        from_number: FROM.into(),
    };
    let dead = TwilioClient::new(TwilioConfig::with_credentials(
        format!("http://{addr}"),
        creds,
    ))
    .expect("client");
    assert!(matches!(
        dead.create_call(&req("+12025550100", "http://x/".into(), false))
            .await,
        Err(TelephonyError::Transport(_))
    ));
    // The error (which gets logged) never carries the number from the listing's query.
    match dead.calls_to("+12025550100", Utc::now()).await {
        Err(TelephonyError::Transport(msg)) => assert!(!msg.contains("5550100"), "{msg}"),
        other => panic!("expected Transport, got {other:?}"),
    }
}

#[tokio::test]
async fn list_by_number_follows_pages_and_filters_by_time() {
    // Two calls a page, so five calls take three pages.
    let (sim, client) = sim_with(SimConfig {
        time_scale: 0.001,
        max_page_size: 2,
        script: Script::default(),
        ..SimConfig::default()
    })
    .await;
    let before = Utc::now() - chrono::Duration::seconds(1);
    let mut sids = Vec::new();
    for _ in 0..5 {
        sids.push(
            client
                .create_call(&req("+12025550120", "http://127.0.0.1:9/x".into(), false))
                .await
                .expect("created")
                .sid,
        );
    }
    client
        .create_call(&req("+12025550121", "http://127.0.0.1:9/x".into(), false))
        .await
        .expect("other number");
    // The list filters on start_time (as Twilio does): wait until every call has started.
    eventually("calls started", || {
        Some(()).filter(|_| sim.record().calls.iter().all(|c| c.started_at.is_some()))
    })
    .await;

    let listed = client.calls_to("+12025550120", before).await.expect("list");
    let mut got: Vec<String> = listed.iter().map(|c| c.sid.clone()).collect();
    assert!(listed.iter().all(|c| c.to == "+12025550120"));
    got.sort();
    sids.sort();
    assert_eq!(
        got, sids,
        "all five, across pages, none of the other number"
    );

    let later = client
        .calls_to("+12025550120", Utc::now() + chrono::Duration::seconds(5))
        .await
        .expect("list");
    assert!(later.is_empty(), "created before `since` is filtered out");
}

#[tokio::test]
async fn callbacks_twice_out_of_order_and_lost() {
    let script = Script::default()
        .with(
            "+12025550130",
            Behaviour::completed(10).callbacks(CallbackMode::Twice),
        )
        .with(
            "+12025550131",
            Behaviour::completed(10).callbacks(CallbackMode::OutOfOrder),
        )
        .with(
            "+12025550132",
            Behaviour::completed(10).callbacks(CallbackMode::LoseTerminal),
        );
    let (sim, client) = sim(script).await;
    let rx = receiver(&sim.auth_token, StatusCode::OK).await;

    let twice = client
        .create_call(&req("+12025550130", rx.url(1), false))
        .await
        .expect("created")
        .sid;
    let got = eventually("eight callbacks", || {
        Some(rx.for_call(&twice)).filter(|g| g.len() == 8)
    })
    .await;
    let pairs: Vec<(&str, u32)> = got.iter().map(|g| (g.status(), g.seq())).collect();
    assert_eq!(
        pairs,
        [
            ("initiated", 0),
            ("initiated", 0),
            ("ringing", 1),
            ("ringing", 1),
            ("in-progress", 2),
            ("in-progress", 2),
            ("completed", 3),
            ("completed", 3)
        ]
    );
    assert!(got.iter().all(|g| g.valid_signature));

    let ooo = client
        .create_call(&req("+12025550131", rx.url(2), false))
        .await
        .expect("created")
        .sid;
    let got = eventually("four callbacks", || {
        Some(rx.for_call(&ooo)).filter(|g| g.len() == 4)
    })
    .await;
    let pairs: Vec<(&str, u32)> = got.iter().map(|g| (g.status(), g.seq())).collect();
    assert_eq!(
        pairs,
        [
            ("initiated", 0),
            ("completed", 3),
            ("ringing", 1),
            ("in-progress", 2)
        ]
    );
    assert!(got.iter().all(|g| g.valid_signature));

    let lost = client
        .create_call(&req("+12025550132", rx.url(3), false))
        .await
        .expect("created")
        .sid;
    ended(&sim, &lost).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got = rx.for_call(&lost);
    assert_eq!(
        got.iter().map(Got::status).collect::<Vec<_>>(),
        ["initiated", "ringing", "in-progress"]
    );
    let fetched = client
        .fetch_call(&lost)
        .await
        .expect("fetch")
        .expect("exists");
    assert_eq!(
        fetched.status,
        CallStatus::Completed,
        "the call ended although its webhook never came"
    );
}

/// Twilio's documented default: a callback answered with an HTTP error is not retried (only a
/// connection that failed is, once); the `#rc=`/`#rp=` connection overrides on the URL ask for
/// retries on 5xx. The fragment is never sent, and the signature covers the URL requested.
#[tokio::test]
async fn a_failing_receiver_is_retried_only_as_the_connection_overrides_say() {
    let (sim, client) = sim(Script::default()
        .with("+12025550140", Behaviour::outcome(SimOutcome::Failed))
        .with("+12025550141", Behaviour::outcome(SimOutcome::Failed)))
    .await;
    let rx = receiver(&sim.auth_token, StatusCode::INTERNAL_SERVER_ERROR).await;
    let tries = |sid: String, n: usize| {
        let sim = &sim;
        async move {
            let rec = eventually("the callbacks tried", || {
                sim.record()
                    .calls
                    .into_iter()
                    .find(|c| c.sid == sid)
                    .filter(|c| c.callbacks.len() == n)
            })
            .await;
            rec.callbacks
                .iter()
                .map(|c| (c.status.clone(), c.attempt, c.delivered))
                .collect::<Vec<_>>()
        }
    };
    let plain = client
        .create_call(&req("+12025550140", rx.url(1), false))
        .await
        .expect("created")
        .sid;
    assert_eq!(
        tries(plain.clone(), 2).await,
        [
            ("initiated".to_string(), 1, false),
            ("failed".to_string(), 1, false)
        ],
        "by default a 500 is not retried"
    );
    let with_overrides = client
        .create_call(&req(
            "+12025550141",
            format!("{}#rc=2&rp=5xx,ct,rt", rx.url(1)),
            false,
        ))
        .await
        .expect("created")
        .sid;
    let got = tries(with_overrides.clone(), 6).await;
    assert_eq!(
        got.iter()
            .filter(|(s, _, _)| s == "failed")
            .map(|t| t.1)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let received = rx.for_call(&with_overrides);
    assert_eq!(received.len(), 6);
    assert!(
        received.iter().all(|g| g.valid_signature),
        "signed over the URL without its fragment"
    );
    // A receiver that cannot be reached is retried once by default.
    let dead = client
        .create_call(&req(
            "+12025550140",
            "http://127.0.0.1:9/twilio/status?x=1".into(),
            false,
        ))
        .await
        .expect("created")
        .sid;
    assert_eq!(
        tries(dead, 4).await.iter().map(|t| t.1).collect::<Vec<_>>(),
        [1, 2, 1, 2]
    );
    assert_eq!(rx.for_call(&plain).len(), 2);
}

#[tokio::test]
async fn the_record_counts_calls_in_flight() {
    // A long call: stays in progress for 25 simulated minutes (1.5 s here).
    let (sim, client) =
        sim(Script::default().with("+12025550150", Behaviour::completed(1500))).await;
    for n in ["+12025550150", "+12025550151", "+12025550152"] {
        client
            .create_call(&req(n, "http://127.0.0.1:9/x".into(), false))
            .await
            .expect("created");
    }
    let long = sim.record().calls_to("+12025550150")[0].sid.clone();
    // The two default (30 s) calls end first; the long one is still live after they do.
    eventually("short calls ended", || {
        let r = sim.record();
        Some(()).filter(|_| r.calls.iter().filter(|c| c.ended_at.is_some()).count() == 2)
    })
    .await;
    let live = client
        .fetch_call(&long)
        .await
        .expect("fetch")
        .expect("exists");
    assert!(
        !live.status.is_terminal(),
        "long call still {:?}",
        live.status
    );
    ended(&sim, &long).await;
    let rec = sim.record();
    assert_eq!((rec.max_in_flight, rec.in_flight_now), (3, 0));

    // Reset over HTTP forgets everything; a script set over HTTP takes effect.
    let http = reqwest::Client::new();
    let reset = http
        .post(format!("{}/sim/reset", sim.base_url))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 204);
    assert!(sim.record().calls.is_empty());
    let put = http
        .put(format!("{}/sim/script", sim.base_url))
        .body(r#"{"default": {"outcome": "busy"}, "+12025550153": {"outcome": "no-answer"}}"#)
        .send()
        .await
        .expect("put script");
    assert_eq!(put.status(), 204);
    let bad = http
        .put(format!("{}/sim/script", sim.base_url))
        .body(r#"{"default": {"outcom": "busy"}}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 400);
    let sid = client
        .create_call(&req("+12025550154", "http://127.0.0.1:9/x".into(), false))
        .await
        .expect("created")
        .sid;
    assert_eq!(ended(&sim, &sid).await.status, "busy");
    let record: twilio_sim::Record = http
        .get(format!("{}/sim/calls", sim.base_url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(record.calls.len(), 1);
}

#[tokio::test]
async fn reversed_callbacks_carry_their_sequence_numbers() {
    let script = Script::default().with(
        "+12025550160",
        Behaviour::completed(10).callbacks(CallbackMode::Reverse),
    );
    let (sim, client) = sim(script).await;
    let rx = receiver(&sim.auth_token, StatusCode::OK).await;
    let sid = client
        .create_call(&req("+12025550160", rx.url(1), false))
        .await
        .expect("created")
        .sid;
    let got = eventually("four callbacks", || {
        Some(rx.for_call(&sid)).filter(|g| g.len() == 4)
    })
    .await;
    let pairs: Vec<(&str, u32)> = got.iter().map(|g| (g.status(), g.seq())).collect();
    assert_eq!(
        pairs,
        [
            ("completed", 3),
            ("in-progress", 2),
            ("ringing", 1),
            ("initiated", 0)
        ]
    );
    // What a webhook keeps: the highest SequenceNumber, whatever the arrival order.
    let kept = got.iter().max_by_key(|g| g.seq()).expect("some");
    assert_eq!(kept.status(), "completed");
}

#[tokio::test]
async fn service_unavailable_is_retryable() {
    let (_sim, client) = sim(Script::default().with(
        "+12025550161",
        Behaviour {
            reject_503: 1,
            ..Behaviour::completed(1)
        },
    ))
    .await;
    let r = req("+12025550161", "http://127.0.0.1:9/x".into(), false);
    assert!(matches!(
        client.create_call(&r).await,
        Err(TelephonyError::Retryable { status: 503, .. })
    ));
    client
        .create_call(&r)
        .await
        .expect("accepted after the 503");
}

#[tokio::test]
async fn a_lost_create_answer_is_a_transport_error_for_a_call_that_exists() {
    let (sim, _) = sim(Script::default().with(
        "+12025550162",
        Behaviour {
            lost_response: Some(30.0),
            ..Behaviour::completed(5)
        },
    ))
    .await;
    let mut cfg = sim.twilio_config(FROM);
    cfg.timeout = Duration::from_millis(300);
    let client = TwilioClient::new(cfg).expect("client");
    let since = Utc::now() - chrono::Duration::seconds(1);
    let r = req("+12025550162", "http://127.0.0.1:9/x".into(), false);
    assert!(matches!(
        client.create_call(&r).await,
        Err(TelephonyError::Transport(_))
    ));
    // The watchdog's way back to it: list the calls to the number since the attempt began.
    let sid = sim.record().calls_to("+12025550162")[0].sid.clone();
    ended(&sim, &sid).await;
    let found = client.calls_to("+12025550162", since).await.expect("list");
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].sid.as_str(), found[0].status),
        (sid.as_str(), CallStatus::Completed)
    );
}

#[tokio::test]
async fn over_the_account_rate_calls_wait_queued() {
    // 1 call/s, each simulated second 20 ms: five creates at once start over >= 80 ms.
    let (sim, client) = sim_with(SimConfig {
        time_scale: 0.02,
        calls_per_second: Some(1.0),
        script: Script::default().with("+12025550170", Behaviour::completed(1)),
        ..SimConfig::default()
    })
    .await;
    let r = req("+12025550170", "http://127.0.0.1:9/x".into(), false);
    let mut sids = Vec::new();
    for _ in 0..5 {
        sids.push(client.create_call(&r).await.expect("created").sid);
    }
    let last = client
        .fetch_call(&sids[4])
        .await
        .expect("fetch")
        .expect("exists");
    assert_eq!(last.status, CallStatus::Queued, "still waiting its turn");
    for sid in &sids {
        ended(&sim, sid).await;
    }
    let rec = sim.record();
    let first_created = rec.calls[0].created_at;
    let last_started = rec.calls[4].started_at.expect("started");
    assert!(
        last_started - first_created >= chrono::Duration::milliseconds(80),
        "{last_started} - {first_created}"
    );
}

/// The evidence of whose call a call is (issue 14 item 2): its events show the URLs it was
/// created with and every callback request made for it, from 15 (simulated) minutes after it
/// ended; before that, and for an unknown sid, nothing.
#[tokio::test]
async fn call_events_show_the_urls_of_the_call_once_it_has_ended_a_while() {
    let (sim, client) = sim(Script::default().with("+12025550180", Behaviour::completed(5))).await;
    let rx = receiver(&sim.auth_token, StatusCode::NO_CONTENT).await;
    let callback = format!(
        "{}/twilio/status?campaign=c1&phone=%2B12025550180&attempt=3",
        rx.base
    );
    let info = client
        .create_call(&req("+12025550180", callback.clone(), false))
        .await
        .expect("created");
    assert_eq!(
        client.call_event_urls(&info.sid).await.expect("events"),
        Vec::<String>::new(),
        "nothing while the call lasts"
    );
    let rec = ended(&sim, &info.sid).await;
    let ended_at = rec.ended_at.expect("ended");
    // 900 simulated seconds at 1 ms each: 0.9 s after the end.
    let urls = eventually_async("the call's events", || async {
        let urls = client.call_event_urls(&info.sid).await.expect("events");
        (!urls.is_empty()).then_some(urls)
    })
    .await;
    assert!(Utc::now() - ended_at >= chrono::Duration::milliseconds(900));
    assert!(
        urls.contains(&callback),
        "the status callback URL: {urls:?}"
    );
    assert!(
        urls.iter()
            .any(|u| u == "https://api.example.com/twilio/voice?c=c1"),
        "the TwiML URL it was created with: {urls:?}"
    );
    assert!(
        client
            .call_event_urls("CA00000000000000000000000000000000")
            .await
            .expect("unknown sid")
            .is_empty()
    );
}

/// A call still waiting in the account's queue has no start time, so Twilio's `StartTime`
/// filter misses it; the listing asks for queued calls too (a released claim whose call is
/// merely queued would be dialed twice).
#[tokio::test]
async fn the_listing_includes_calls_still_queued() {
    let (_sim, client) = sim_with(SimConfig {
        time_scale: 1.0,
        calls_per_second: Some(0.01),
        script: Script::default().with("+12025550181", Behaviour::completed(1)),
        ..SimConfig::default()
    })
    .await;
    let since = Utc::now() - chrono::Duration::seconds(1);
    let r = req("+12025550181", "http://127.0.0.1:9/x".into(), false);
    let first = client.create_call(&r).await.expect("created").sid;
    let queued = client.create_call(&r).await.expect("created").sid;
    let info = client
        .fetch_call(&queued)
        .await
        .expect("fetch")
        .expect("exists");
    assert_eq!(info.status, CallStatus::Queued, "100 s until its turn");
    let listed = client.calls_to("+12025550181", since).await.expect("list");
    let sids: Vec<&str> = listed.iter().map(|c| c.sid.as_str()).collect();
    assert!(
        sids.contains(&queued.as_str()),
        "the queued call is listed: {sids:?} (first {first})"
    );
}

async fn eventually_async<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
