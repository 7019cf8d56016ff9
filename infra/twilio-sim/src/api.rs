//! The HTTP surface: Twilio's call routes and the `/sim/*` control routes.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use shared::domain::masking::mask_phone;
use shared::twilio::client::format_date;

use crate::script::Script;
use crate::timeline;
use crate::{CallRecord, Rejection, Shared};

type S = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Calls.json",
            post(create).get(list),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{file}",
            get(fetch).post(update),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls/{sid}/Events.json",
            get(events),
        )
        .route("/sim/script", put(put_script).get(get_script))
        .route("/sim/calls", get(get_calls))
        .route("/sim/reset", post(reset))
        .route("/sim/rotate-token", post(rotate_token))
        .route("/sim/health", get(|| async { "ok" }))
        .with_state(shared)
}

/// Twilio's error body.
fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

/// Basic auth must be the configured account and token, and the path's account the same.
/// `Some` is the 401 to answer.
fn unauthorized(shared: &Shared, headers: &HeaderMap, account: &str) -> Option<Response> {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .is_some_and(|pair| match pair.split_once(':') {
            Some((user, pass)) => {
                user == shared.account_sid
                    && pass == shared.token()
                    && account == shared.account_sid
            }
            None => false,
        });
    (!ok).then(|| twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"))
}

fn first<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// Twilio's Call resource.
fn call_json(c: &CallRecord, account: &str) -> Value {
    let date = |d: Option<DateTime<Utc>>| d.map(format_date);
    let updated = [Some(c.created_at), c.started_at, c.answered_at, c.ended_at]
        .into_iter()
        .flatten()
        .max();
    json!({
        "sid": c.sid,
        "account_sid": account,
        "date_created": format_date(c.created_at),
        "date_updated": date(updated),
        "parent_call_sid": null,
        "to": c.to,
        "to_formatted": c.to,
        "from": c.from,
        "from_formatted": c.from,
        "phone_number_sid": null,
        "status": c.status,
        "start_time": date(c.started_at),
        "end_time": date(c.ended_at),
        "duration": c.duration.map(|d| d.to_string()),
        "price": null,
        "price_unit": "USD",
        "direction": "outbound-api",
        "answered_by": c.answered_by,
        "api_version": "2010-04-01",
        "forwarded_from": null,
        "group_sid": null,
        "caller_name": null,
        "queue_time": "0",
        "trunk_sid": null,
        "uri": format!("/2010-04-01/Accounts/{account}/Calls/{}.json", c.sid),
        "subresource_uris": {},
    })
}

async fn create(
    State(shared): S,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (created, withhold, generation) = match place(&shared, &account, &headers, &body) {
        Ok(placed) => placed,
        Err(refused) => return *refused,
    };
    if let Some(secs) = withhold.filter(|s| *s > 0.0) {
        // Hold the answer (the call exists and proceeds); give up early on reset/shutdown.
        let until =
            tokio::time::Instant::now() + std::time::Duration::from_secs_f64(secs.min(3600.0));
        while tokio::time::Instant::now() < until
            && shared.generation.load(Ordering::SeqCst) == generation
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    created
}

/// The created answer, how long to withhold it, the generation it was placed in.
type Placed = (Response, Option<f64>, u64);

/// Validates and places the call (starting its timeline). No await inside: the state lock
/// is held throughout, so concurrent creates are serialised like one account's API.
fn place(
    shared: &Arc<Shared>,
    account: &str,
    headers: &HeaderMap,
    body: &str,
) -> Result<Placed, Box<Response>> {
    if let Some(r) = unauthorized(shared, headers, account) {
        return Err(Box::new(r));
    }
    let Ok(form) = serde_urlencoded::from_str::<Vec<(String, String)>>(body) else {
        return Err(Box::new(twilio_error(
            StatusCode::BAD_REQUEST,
            20001,
            "Could not parse the form body",
        )));
    };
    let to = first(&form, "To").unwrap_or_default().to_string();
    let now = Utc::now();
    let reject = |st: &mut crate::State, status: StatusCode, code: i64, message: &str| {
        st.rejected.push(Rejection {
            to: to.clone(),
            at: now,
            status: status.as_u16(),
            code,
        });
        Err::<Placed, Box<Response>>(Box::new(twilio_error(status, code, message)))
    };
    let mut st = shared.lock();
    if to.is_empty() {
        return reject(
            &mut st,
            StatusCode::BAD_REQUEST,
            21201,
            "No 'To' number is specified",
        );
    }
    let Some(from) = first(&form, "From").map(str::to_string) else {
        return reject(
            &mut st,
            StatusCode::BAD_REQUEST,
            21213,
            "No 'From' number is specified",
        );
    };
    let Some(url) = first(&form, "Url").map(str::to_string) else {
        return reject(
            &mut st,
            StatusCode::BAD_REQUEST,
            21205,
            "Url parameter is required",
        );
    };
    let timeout = match first(&form, "Timeout").map(str::parse::<u32>) {
        None => 60,
        Some(Ok(t)) => t.clamp(5, 600),
        Some(Err(_)) => {
            return reject(
                &mut st,
                StatusCode::BAD_REQUEST,
                21218,
                "Timeout must be an integer",
            );
        }
    };
    let attempt = st.counters.get(&to).map_or(0, |c| c.created);
    let behaviour = st.script.plan(&to).for_attempt(attempt);
    if !is_e164(&to) {
        let msg = format!("The 'To' number {to} is not a valid phone number.");
        return reject(&mut st, StatusCode::BAD_REQUEST, 21211, &msg);
    }
    let counters = st.counters.entry(to.clone()).or_default();
    if counters.rejected_429 < behaviour.reject_429 {
        counters.rejected_429 += 1;
        tracing::info!(to = %mask_phone(&to), "scripted: 429 on create");
        return reject(
            &mut st,
            StatusCode::TOO_MANY_REQUESTS,
            20429,
            "Too Many Requests",
        );
    }
    if counters.rejected_503 < behaviour.reject_503 {
        counters.rejected_503 += 1;
        tracing::info!(to = %mask_phone(&to), "scripted: 503 on create");
        return reject(
            &mut st,
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "Service Unavailable",
        );
    }
    if let Some(code) = behaviour.reject_code {
        let msg = match code {
            21211 => format!("The 'To' number {to} is not a valid phone number."),
            21210 => "The source phone number provided, is not yet verified for your account.".to_string(),
            21212 => "The 'From' number is not a valid phone number, shortcode, or alphanumeric sender ID.".to_string(),
            21215 => "Account not authorized to call this number (geo permissions).".to_string(),
            21216 => "Account not allowed to call this number (international permissions).".to_string(),
            21217 => "Phone number does not appear to be valid".to_string(),
            21219 => "The 'To' number is not verified. Trial accounts may only make calls to verified numbers.".to_string(),
            20005 => "Account not active".to_string(),
            _ => format!("Scripted rejection {code}"),
        };
        let status = behaviour
            .reject_status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        return reject(&mut st, status, code, &msg);
    }
    counters.created += 1;

    let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let status_callback = first(&form, "StatusCallback").map(str::to_string);
    let events: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
        .collect();
    let machine_detection = first(&form, "MachineDetection").is_some_and(|v| {
        v.eq_ignore_ascii_case("Enable") || v.eq_ignore_ascii_case("DetectMessageEnd")
    });
    let rec = CallRecord {
        sid: sid.clone(),
        to: to.clone(),
        from: from.clone(),
        url,
        status_callback: status_callback.clone(),
        params: form,
        machine_detection,
        behaviour: behaviour.clone(),
        status: "queued".into(),
        created_at: now,
        started_at: None,
        answered_at: None,
        ended_at: None,
        duration: None,
        answered_by: None,
        callbacks: Vec::new(),
    };
    let body = call_json(&rec, &shared.account_sid);
    // Twilio's per-account rate: each call leaves the queue one interval after the last.
    let queued_for = match shared.calls_per_second {
        Some(cps) => {
            let interval = shared.scaled(1.0 / cps);
            let now = tokio::time::Instant::now();
            let slot = st.next_dequeue.map_or(now, |n| n.max(now));
            st.next_dequeue = Some(slot + interval);
            slot - now
        }
        None => std::time::Duration::ZERO,
    };
    let i = st.calls.len();
    st.calls.push(rec);
    st.index.insert(sid.clone(), i);
    drop(st);

    tracing::info!(call_sid = %sid, to = %mask_phone(&to), outcome = ?behaviour.outcome, "call created");
    let plan = timeline::Plan {
        sid,
        to,
        from,
        status_callback,
        events,
        machine_detection,
        timeout,
        behaviour,
        queued_for,
    };
    let generation = shared.generation.load(Ordering::SeqCst);
    let withhold = plan.behaviour.lost_response;
    let answer = match plan
        .behaviour
        .created_but_answer
        .and_then(|s| StatusCode::from_u16(s).ok())
    {
        // The call exists and goes on; the client is told it failed.
        Some(status) => {
            tracing::info!(call_sid = %plan.sid, status = status.as_u16(), "scripted: call created, create answered with an error");
            twilio_error(status, 20500, "Internal Server Error")
        }
        None => (StatusCode::CREATED, Json(body)).into_response(),
    };
    tokio::spawn(timeline::run(shared.clone(), plan, generation));
    Ok((answer, withhold, generation))
}

async fn fetch(
    State(shared): S,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&shared, &headers, &account) {
        return r;
    }
    let sid = file.strip_suffix(".json").unwrap_or(&file);
    let st = shared.lock();
    match st
        .index
        .get(sid)
        .and_then(|&i| st.calls.get(i))
        .filter(|c| !c.behaviour.forgotten)
    {
        Some(c) => Json(call_json(c, &shared.account_sid)).into_response(),
        None => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            &format!(
                "The requested resource /2010-04-01/Accounts/{account}/Calls/{sid}.json was not found"
            ),
        ),
    }
}

/// Twilio shows a call's events from 15 minutes after the call ends (simulated time).
pub(crate) const EVENTS_AFTER_END_SECONDS: f64 = 900.0;

/// Twilio's parameter names in events: snake case (`StatusCallback` -> `status_callback`).
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// `GET /Calls/{sid}/Events.json`: the API request that created the call (its parameters in
/// snake case, `url` and `status_callback` among them) and every status callback request the
/// simulator made for it (URL, method, parameters, our answer). Empty until 15 simulated
/// minutes after the call ended, as on Twilio; `404` for an unknown or `forgotten` sid.
async fn events(
    State(shared): S,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&shared, &headers, &account) {
        return r;
    }
    let st = shared.lock();
    let Some(c) = st
        .index
        .get(&sid)
        .and_then(|&i| st.calls.get(i))
        .filter(|c| !c.behaviour.forgotten)
    else {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    };
    let visible = c.ended_at.is_some_and(|end| {
        let after =
            chrono::Duration::from_std(shared.scaled(EVENTS_AFTER_END_SECONDS)).unwrap_or_default();
        Utc::now() >= end + after
    });
    let mut list = Vec::new();
    if visible {
        let mut params = serde_json::Map::new();
        for (k, v) in &c.params {
            params.insert(snake(k), Value::String(v.clone()));
        }
        params.insert("account_sid".into(), Value::String(account.clone()));
        list.push(json!({
            "request": {
                "method": "POST",
                "url": format!("https://api.twilio.com/2010-04-01/Accounts/{account}/Calls.json"),
                "parameters": params,
            },
            "response": {
                "response_code": 201,
                "content_type": "application/json",
                "date_created": format_date(c.created_at),
                "request_duration": 0,
                "response_body": json!({"sid": c.sid}).to_string(),
            },
        }));
        if let Some(url) = &c.status_callback {
            for cb in &c.callbacks {
                list.push(json!({
                    "request": {
                        "method": "POST",
                        "url": url,
                        "parameters": {
                            "call_sid": c.sid,
                            "call_status": cb.status,
                            "sequence_number": cb.sequence_number.to_string(),
                        },
                    },
                    "response": {
                        "response_code": cb.http_status,
                        "content_type": "text/plain",
                        "date_created": format_date(cb.sent_at),
                        "request_duration": 0,
                        "response_body": "",
                    },
                }));
            }
        }
    }
    let uri =
        format!("/2010-04-01/Accounts/{account}/Calls/{sid}/Events.json?PageSize=1000&Page=0");
    let end = list.len().saturating_sub(1);
    Json(json!({
        "events": list,
        "page": 0,
        "page_size": 1000,
        "start": 0,
        "end": end,
        "uri": uri,
        "first_page_uri": uri,
        "next_page_uri": null,
        "previous_page_uri": null,
    }))
    .into_response()
}

/// `To`, `From`, `Status`, `StartTime`, `StartTime>`, `StartTime<` (dates, on `start_time`,
/// as Twilio filters), `PageSize`, `Page`. Newest first.
async fn list(
    State(shared): S,
    Path(account): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Some(r) = unauthorized(&shared, &headers, &account) {
        return r;
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let date = |name: &str| -> Result<Option<NaiveDate>, String> {
        match get(name) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v.get(..10).unwrap_or(&v), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("Invalid {name}")),
        }
    };
    let (on, after, before) = match (date("StartTime"), date("StartTime>"), date("StartTime<")) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(m), _, _) | (_, Err(m), _) | (_, _, Err(m)) => {
            return twilio_error(StatusCode::BAD_REQUEST, 20001, &m);
        }
    };
    let page_size = get("PageSize")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, shared.max_page_size);
    let page = get("Page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let (to, from, status) = (get("To"), get("From"), get("Status"));

    let st = shared.lock();
    let mut matching: Vec<&CallRecord> = st
        .calls
        .iter()
        .filter(|c| !c.behaviour.forgotten)
        .filter(|c| to.as_ref().is_none_or(|t| &c.to == t))
        .filter(|c| from.as_ref().is_none_or(|f| &c.from == f))
        .filter(|c| status.as_ref().is_none_or(|s| &c.status == s))
        .filter(|c| {
            if on.is_none() && after.is_none() && before.is_none() {
                return true;
            }
            let Some(day) = c.started_at.map(|d| d.date_naive()) else {
                return false;
            };
            on.is_none_or(|d| day == d)
                && after.is_none_or(|d| day >= d)
                && before.is_none_or(|d| day <= d)
        })
        .collect();
    matching.reverse();
    let start = page.saturating_mul(page_size);
    let calls: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|c| call_json(c, &shared.account_sid))
        .collect();
    let more = start.saturating_add(page_size) < matching.len();

    let base = format!("/2010-04-01/Accounts/{}/Calls.json", shared.account_sid);
    let uri_for = |p: usize| {
        let mut qs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "Page" && k != "PageSize")
            .cloned()
            .collect();
        qs.push(("PageSize".into(), page_size.to_string()));
        qs.push(("Page".into(), p.to_string()));
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&qs).unwrap_or_default()
        )
    };
    let end = if calls.is_empty() {
        start
    } else {
        start + calls.len() - 1
    };
    Json(json!({
        "calls": calls,
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": end,
        "uri": uri_for(page),
        "first_page_uri": uri_for(0),
        "next_page_uri": if more { Some(uri_for(page + 1)) } else { None },
        "previous_page_uri": if page > 0 { Some(uri_for(page - 1)) } else { None },
    }))
    .into_response()
}

/// `POST /Calls/{sid}.json` with `Status=canceled` (ends a queued, initiated or ringing call;
/// no effect once answered, as on Twilio) or `Status=completed` (hangs up a live call).
async fn update(
    State(shared): S,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = unauthorized(&shared, &headers, &account) {
        return r;
    }
    let sid = file.strip_suffix(".json").unwrap_or(&file).to_string();
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let wanted = first(&form, "Status").unwrap_or_default().to_string();
    if wanted != "canceled" && wanted != "completed" {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21218,
            "Status must be canceled or completed",
        );
    }
    let generation = shared.generation.load(Ordering::SeqCst);
    let (json, ended) = {
        let mut st = shared.lock();
        let Some(rec) = st.call_mut(&sid).filter(|c| !c.behaviour.forgotten) else {
            drop(st);
            return twilio_error(
                StatusCode::NOT_FOUND,
                20404,
                "The requested resource was not found",
            );
        };
        let live = rec.ended_at.is_none();
        let before_answer = matches!(rec.status.as_str(), "queued" | "initiated" | "ringing");
        let ended = match (wanted.as_str(), live, before_answer) {
            ("canceled", true, true) => Some(shared::domain::CallStatus::Canceled),
            ("completed", true, _) => Some(if before_answer {
                shared::domain::CallStatus::Canceled
            } else {
                shared::domain::CallStatus::Completed
            }),
            _ => None,
        };
        if let Some(status) = ended {
            let now = Utc::now();
            rec.status = status.as_str().to_string();
            rec.duration = Some(
                rec.answered_at
                    .map_or(0, |a| (now - a).num_seconds().max(0) as u32),
            );
            rec.ended_at = Some(now);
            tracing::info!(call_sid = %sid, status = status.as_str(), "call ended through the API");
        }
        (call_json(rec, &shared.account_sid), ended)
    };
    if let Some(status) = ended {
        tokio::spawn(timeline::ended_by_api(
            shared.clone(),
            sid,
            status,
            generation,
        ));
    }
    Json(json).into_response()
}

async fn rotate_token(State(shared): S, body: String) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    match first(&form, "AuthToken") {
        Some(t) => {
            *shared.auth_token.lock().unwrap_or_else(|p| p.into_inner()) = t.to_string();
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::BAD_REQUEST, "AuthToken is required").into_response(),
    }
}

async fn put_script(State(shared): S, body: String) -> Response {
    match serde_json::from_str::<Script>(&body) {
        Ok(script) => {
            shared.set_script(script);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("bad script: {e}")})),
        )
            .into_response(),
    }
}

async fn get_script(State(shared): S) -> Response {
    Json(shared.lock().script.clone()).into_response()
}

async fn get_calls(State(shared): S, RawQuery(q): RawQuery) -> Response {
    let mut record = shared.record();
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    if let Some((_, to)) = query.iter().find(|(k, _)| k == "to") {
        record.calls.retain(|c| &c.to == to);
        record.rejected.retain(|r| &r.to == to);
    }
    Json(record).into_response()
}

async fn reset(State(shared): S) -> StatusCode {
    shared.reset();
    StatusCode::NO_CONTENT
}
