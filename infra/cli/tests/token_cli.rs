//! `campaigns token`: the token alone on stdout, its lifetime on stderr, and the same
//! lifetime as the token `campaigns dev` prints (`LOCAL_TOKEN_HOURS`).

use std::process::Command;

use base64::Engine;

fn exp_of(token: &str) -> i64 {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["exp"].as_i64().expect("exp")
}

#[test]
fn token_prints_its_lifetime_and_lasts_as_long_as_the_dev_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_campaigns"))
        .args(["token", "--user", "alice"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let token = token.trim();
    assert_eq!(
        token.lines().count(),
        1,
        "stdout is the token alone: {token}"
    );
    let hours = shared::http::auth::LOCAL_TOKEN_HOURS;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("valid {hours} h, until ")),
        "{stderr}"
    );
    let now = chrono::Utc::now().timestamp();
    let exp = exp_of(token);
    assert!(
        (exp - now - hours as i64 * 3600).abs() < 60,
        "exp {exp}, now {now}"
    );
    // The token `campaigns dev` prints (what `Local::token_with_expiry` issues): the same
    // lifetime, and the expiry it prints beside it is the token's own.
    let (dev, until) = campaigns::local::dev_token("local-dev-secret", "alice");
    assert!(
        (exp_of(&dev) - exp).abs() < 60,
        "the dev token expires at {}, the CLI's at {exp}",
        exp_of(&dev)
    );
    assert!((until.timestamp() - exp_of(&dev)).abs() <= 1);
}
