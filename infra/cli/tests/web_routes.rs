//! The dashboard's routes on the dev server (`campaigns::web`): the built files at `/` and under
//! `/assets/` only (no way out of the directory), the page's configuration, and the dev-only
//! token route's input checks.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

fn dist() -> tempfile_dir::Dir {
    tempfile_dir::Dir::new()
}

/// A throwaway `dist/` with an index and one asset, and a secret file next to it.
mod tempfile_dir {
    use std::path::PathBuf;
    pub struct Dir(pub PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let root = std::env::temp_dir().join(format!(
                "campaigns-web-test-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(root.join("dist/assets")).expect("mkdir");
            std::fs::write(
                root.join("dist/index.html"),
                "<!doctype html><title>t</title>",
            )
            .expect("index");
            std::fs::write(root.join("dist/assets/app-abc.js"), "console.log(1)").expect("asset");
            std::fs::write(root.join("secret.txt"), "do not serve").expect("secret");
            Dir(root)
        }
        pub fn dist(&self) -> PathBuf {
            self.0.join("dist")
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = to_bytes(res.into_body(), 1 << 20).await.expect("body");
    (status, ct, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn serves_the_build_and_nothing_outside_it() {
    let d = dist();
    let app = campaigns::web::routes(d.dist(), "test-secret".into(), 1234);
    let (s, ct, body) = get(&app, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(body.contains("<title>t</title>"));
    let (s, ct, _) = get(&app, "/assets/app-abc.js").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/javascript"), "{ct}");
    for uri in [
        "/assets/../secret.txt",
        "/assets/..%2F..%2Fsecret.txt",
        "/assets/%2E%2E/%2E%2E/secret.txt",
        "/assets//etc/passwd",
        "/assets/missing.js",
    ] {
        let (s, _, body) = get(&app, uri).await;
        assert_ne!(s, StatusCode::OK, "{uri} answered: {body}");
        assert!(!body.contains("do not serve"), "{uri}");
    }
}

#[tokio::test]
async fn config_says_local_sign_in_and_the_inline_cap() {
    let d = dist();
    let app = campaigns::web::routes(d.dist(), "test-secret".into(), 1234);
    let (s, _, body) = get(&app, "/config.json").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["auth"]["mode"], "local");
    assert_eq!(v["auth"]["token_url"], "/dev/token");
    assert_eq!(v["max_inline_file_bytes"], 1234);
    assert!(
        !body.contains("test-secret"),
        "the secret must not be in config.json"
    );
}

#[tokio::test]
async fn dev_token_is_for_the_named_user_and_checks_the_name() {
    let d = dist();
    let app = campaigns::web::routes(d.dist(), "test-secret".into(), 1234);
    let (s, _, body) = get(&app, "/dev/token?user=bob").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["user"], "bob");
    let sub = shared::http::auth::verify_local(b"test-secret", v["token"].as_str().expect("token"));
    assert_eq!(
        sub.as_deref(),
        Some("bob"),
        "a token the dev server accepts, for bob"
    );
    for bad in ["", "a%2Fb", "x%23y", &"a".repeat(65)] {
        let (s, _, body) = get(&app, &format!("/dev/token?user={bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "user={bad}: {body}");
    }
}

#[tokio::test]
async fn without_a_build_the_page_says_how_to_make_one() {
    let app = campaigns::web::routes(
        std::env::temp_dir().join("campaigns-no-such-dist"),
        "s".into(),
        1,
    );
    let (s, _, body) = get(&app, "/").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("make web"), "{body}");
}
