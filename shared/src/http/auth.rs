//! Who is calling. Two modes, chosen once by the composition root:
//!
//! - `Auth::Gateway` (on Lambda): API Gateway's HTTP API JWT authorizer has verified the token
//!   before the function runs; the user is the `sub` claim it puts in the request context
//!   (lambda_http stores that context in the request's extensions).
//! - `Auth::LocalJwt` (dev server, tests): there is no gateway, so the router verifies an
//!   HS256 `Authorization: Bearer` token itself, signed with `LOCAL_JWT_SECRET`.
//!
//! No user is a 401. The Twilio webhooks do not take a `User`: they carry a signature instead.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;

/// The development secret when `LOCAL_JWT_SECRET` is unset. Never used on Lambda.
pub const DEFAULT_LOCAL_SECRET: &str = "local-dev-secret";

/// How long a local token lasts: the one lifetime of `campaigns token` and of the token
/// `campaigns dev` prints, both of which print it beside the token.
pub const LOCAL_TOKEN_HOURS: u64 = 24;

/// A local token for `user`, valid `hours`, and the instant it expires.
pub fn local_token(secret: &[u8], user: &str, hours: u64) -> Result<(String, chrono::DateTime<chrono::Utc>), jsonwebtoken::errors::Error> {
    let ttl = std::time::Duration::from_secs(hours.saturating_mul(3600));
    let token = issue_local_token(secret, user, ttl)?;
    let exp = chrono::Utc::now() + chrono::Duration::seconds(ttl.as_secs() as i64);
    Ok((token, exp))
}

/// "valid 24 h, until 2026-11-30 05:01 UTC": what the CLI prints beside a token.
pub fn token_validity(hours: u64, exp: chrono::DateTime<chrono::Utc>) -> String {
    format!("valid {hours} h, until {}", exp.format("%Y-%m-%d %H:%M UTC"))
}

#[derive(Clone)]
pub enum Auth {
    /// Trust the API Gateway JWT authorizer's claims in the request context.
    Gateway,
    /// Verify HS256 bearer tokens with this secret.
    LocalJwt { secret: Arc<Vec<u8>> },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Gateway => f.write_str("Auth::Gateway"),
            // The secret stays out of logs.
            Auth::LocalJwt { .. } => f.write_str("Auth::LocalJwt { .. }"),
        }
    }
}

impl Auth {
    pub fn local(secret: impl AsRef<[u8]>) -> Self {
        Auth::LocalJwt {
            secret: Arc::new(secret.as_ref().to_vec()),
        }
    }

    /// `LOCAL_JWT_SECRET`, or the development default.
    pub fn local_from_env() -> Self {
        Self::local(
            crate::config::optional("LOCAL_JWT_SECRET")
                .unwrap_or_else(|| DEFAULT_LOCAL_SECRET.to_string()),
        )
    }
}

/// The claims of a local token.
#[derive(Debug, Serialize, Deserialize)]
pub struct LocalClaims {
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
}

/// A local HS256 token for `user`, valid for `ttl` (`campaigns token`, tests, benches).
pub fn issue_local_token(
    secret: &[u8],
    user: &str,
    ttl: std::time::Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = LocalClaims {
        sub: user.to_string(),
        iat: now,
        exp: now + ttl.as_secs(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
}

/// The authenticated caller: their user id (the token's `sub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User(pub String);

/// A user id must be usable inside keys (`U#<sub>`, `uploads/<sub>/...`).
fn acceptable_sub(sub: &str) -> bool {
    !sub.is_empty()
        && sub.len() <= 128
        && !sub.chars().any(|c| c.is_control() || c == '/' || c == '\\')
}

/// The `sub` claim the HTTP API JWT authorizer left in the Lambda request context.
pub fn gateway_sub(extensions: &http::Extensions) -> Option<String> {
    use lambda_http::request::RequestContext;
    match extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()?
            .claims
            .get("sub")
            .cloned(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn verify_local(secret: &[u8], token: &str) -> Option<String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data =
        jsonwebtoken::decode::<LocalClaims>(token, &DecodingKey::from_secret(secret), &validation)
            .ok()?;
    Some(data.claims.sub)
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let sub = match &state.auth {
            Auth::Gateway => gateway_sub(&parts.extensions)
                .ok_or_else(|| ApiError::unauthorized("no authenticated user in the request"))?,
            Auth::LocalJwt { secret } => {
                let token = bearer(parts)
                    .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <token>"))?;
                verify_local(secret, token)
                    .ok_or_else(|| ApiError::unauthorized("the token is invalid or expired"))?
            }
        };
        if !acceptable_sub(&sub) {
            return Err(ApiError::unauthorized(
                "the token's subject is not a usable user id",
            ));
        }
        Ok(User(sub))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tokens_round_trip_and_reject_tampering() {
        let t = issue_local_token(b"s3cret", "alice", std::time::Duration::from_secs(60))
            .expect("encode");
        assert_eq!(verify_local(b"s3cret", &t).as_deref(), Some("alice"));
        assert_eq!(verify_local(b"other", &t), None);
        assert_eq!(verify_local(b"s3cret", "not.a.token"), None);
        assert!(!acceptable_sub(""));
        assert!(!acceptable_sub("a/b"));
        assert!(acceptable_sub("auth0|123"));
    }
}
