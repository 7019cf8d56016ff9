//! Figures for `POST /campaigns/create` with a file at its inline cap (issue 12 item 4), from
//! a real run against the local stack (not a timed test): the request goes in as the API
//! function receives it on AWS (an API Gateway v2 event, JSON with the multipart body in
//! base64, turned into a request by lambda_http) through the same router, storage is the
//! local emulator. Measured: the peak resident memory of handling it (VmHWM, reset just
//! before the event is read), the time, and what was imported. Needs `make stack-up`.
//!
//!     cargo run -p campaigns --example create_figures -- [bytes | FILE]
//!
//! The file is `parser/benches/gen_csv.py` output cut at a row boundary to at most `bytes`
//! (default: the cap, `MAX_INLINE_FILE_BYTES` = 4 MiB), generated now, never written to disk;
//! or FILE as it is (an XLSX at the cap: rows written by a script, see docs/performance.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use shared::adapters::dynamodb::{Repo, schema};
use shared::adapters::s3::Blobs;
use shared::adapters::scheduler::Wakeups;
use shared::http::{AppState, Auth, DEFAULT_MAX_INLINE_FILE_BYTES, router};
use shared::ports::SystemClock;
use shared::service::campaigns::Deps;
use tower::ServiceExt;

const BOUNDARY: &str = "figures-boundary-7d1e";

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// An API Gateway v2 (HTTP API) event as Lambda delivers it, the JWT authorizer's `sub` in
/// its context, the body in base64 (API Gateway encodes multipart bodies).
fn event(method: &str, path: &str, content_type: &str, body: &[u8]) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": content_type, "content-length": body.len().to_string(), "host": "api.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api",
            "domainName": "api.execute-api.us-east-1.amazonaws.com", "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "figures"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "29/Nov/2026:12:00:00 +0000", "timeEpoch": 1_795_000_000_000u64,
            "authorizer": {"jwt": {"claims": {"sub": "figures", "iss": "https://issuer.example"}, "scopes": null}}
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
    .to_string()
}

async fn call(app: &axum::Router, event: String) -> anyhow::Result<(u16, serde_json::Value)> {
    let req = lambda_http::request::from_str(&event).map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(event);
    let resp = app.clone().oneshot(req).await?;
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024).await?;
    Ok((
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A number: CSV up to that many bytes; a path: that file as it is (e.g. an XLSX).
    let arg = std::env::args().nth(1);
    let given = arg
        .as_deref()
        .filter(|a| std::path::Path::new(a).is_file())
        .map(std::path::PathBuf::from);
    let cap = arg
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_INLINE_FILE_BYTES) as usize;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sdk = shared::config::local_aws_config(&shared::config::local_endpoint()).await;
    let name = format!(
        "createfig-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let client = shared::config::local_dynamodb_client(&sdk);
    schema::ensure_table(&client, &name).await?;
    let blobs = Blobs::new(shared::config::s3_client(&sdk), &name);
    blobs.ensure_bucket().await?;
    let wakeups = Wakeups::new(
        aws_sdk_scheduler::Client::new(&sdk),
        "default",
        "arn:aws:lambda:us-east-1:123456789012:function:dialer",
        "arn:aws:iam::123456789012:role/scheduler",
    );
    let deps = Deps {
        repo: Repo::new(client.clone(), &name),
        blobs: blobs.clone(),
        wakeups,
        clock: Arc::new(SystemClock),
    };
    let app = router(AppState::new(deps, Auth::Gateway));
    let (status, agent) = call(
        &app,
        event(
            "POST",
            "/agents",
            "application/json",
            br#"{"name": "Figures Bot", "prompt_text": "hi"}"#,
        ),
    )
    .await?;
    anyhow::ensure!(status == 201, "agent: {status} {agent}");

    // The file: gen_csv.py rows up to the cap (about 63 bytes a row), cut at a row boundary.
    let (file_name, mut file) = match &given {
        Some(path) => (
            path.file_name()
                .map_or("contacts.xlsx".into(), |n| n.to_string_lossy().into_owned()),
            std::fs::read(path)?,
        ),
        None => {
            let rows = cap / 50 + 10;
            let out = std::process::Command::new("python3")
                .arg(root.join("parser/benches/gen_csv.py"))
                .arg(rows.to_string())
                .output()?;
            anyhow::ensure!(out.status.success(), "gen_csv.py failed");
            ("contacts.csv".to_string(), out.stdout)
        }
    };
    if given.is_none() && file.len() > cap {
        let cut = file[..cap]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        file.truncate(cut);
    }
    // Rows of a generated CSV (a given file's rows are in the answer's counts).
    let file_rows = match given {
        Some(_) => "-".to_string(),
        None => file
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            .saturating_sub(1)
            .to_string(),
    };
    let settings =
        serde_json::json!({"agent_id": agent["id"], "timezone": "America/New_York"}).to_string();
    let mut body = Vec::with_capacity(file.len() + 1024);
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(&file);
    body.extend_from_slice(
        format!("\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"settings\"\r\n\r\n{settings}\r\n--{BOUNDARY}--\r\n").as_bytes(),
    );
    let file_bytes = file.len();
    drop(file);
    let event = event(
        "POST",
        "/campaigns/create",
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        &body,
    );
    let event_bytes = event.len();
    drop(body);
    // What the Lambda runtime holds when the handler starts: the event's JSON text.
    let rss_before = status_kb("VmRSS:");
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let t = Instant::now();
    let (status, created) = call(&app, event).await?;
    let took: Duration = t.elapsed();
    let peak = status_kb("VmHWM:");
    anyhow::ensure!(status == 201, "create: {status} {created}");
    println!(
        "file: {file_bytes} bytes ({} of the cap {cap}), {file_rows} rows; event JSON {event_bytes} bytes",
        if file_bytes <= cap { "within" } else { "OVER" }
    );
    println!(
        "POST /campaigns/create: {status} in {:.2} s; imported {}, duplicates {}, invalid {}",
        took.as_secs_f64(),
        created["contacts_imported"],
        created["duplicates"],
        created["invalid"]
    );
    println!(
        "peak RSS handling it: {} MB (VmHWM {}reset before; RSS before, the event held: {} MB)",
        peak / 1024,
        if reset { "" } else { "NOT " },
        rss_before / 1024
    );
    client.delete_table().table_name(&name).send().await.ok();
    blobs
        .client()
        .delete_bucket()
        .bucket(blobs.bucket())
        .send()
        .await
        .ok();
    Ok(())
}
