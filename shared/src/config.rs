//! Configuration, read once from the environment the template (or the dev server) sets. A
//! missing variable fails at start-up and names itself.

use std::env;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

pub fn optional(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub fn parsed_or<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid { name, reason: e.to_string() }),
    }
}

/// The AWS SDK configuration: region and credentials from the usual chain, and
/// `AWS_ENDPOINT_URL` (the local emulator) when set.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

/// An S3 client; path-style addressing when an endpoint override (the emulator) is in use.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A DynamoDB client. `AWS_ENDPOINT_URL_DYNAMODB` (the SDKs' service-specific endpoint variable)
/// points DynamoDB alone elsewhere: the local stack serves DynamoDB from dynoxide and the other
/// services from moto. Unset on AWS.
pub fn dynamodb_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = optional("AWS_ENDPOINT_URL_DYNAMODB") {
        conf = conf.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(conf.build())
}

/// The local DynamoDB for local runs and tests (dynoxide, see `infra/dynamo-local`):
/// `AWS_ENDPOINT_URL_DYNAMODB`, else `LOCAL_DYNAMODB_PORT`, else the local stack's port + 1000
/// (4566 -> 5566), the same rule `infra/local/stack.sh` starts it by.
pub fn local_dynamodb_endpoint() -> String {
    if let Some(url) = optional("AWS_ENDPOINT_URL_DYNAMODB") {
        return url;
    }
    let port = optional("LOCAL_DYNAMODB_PORT")
        .and_then(|p| p.parse::<u16>().ok())
        .or_else(|| optional("LOCAL_AWS_PORT").and_then(|p| p.parse::<u16>().ok()).map(|p| p.saturating_add(1000)))
        .unwrap_or(5566);
    format!("http://127.0.0.1:{port}")
}

/// A DynamoDB client for local runs and tests, on `local_dynamodb_endpoint()`.
pub fn local_dynamodb_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk).endpoint_url(local_dynamodb_endpoint()).build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// The SDK configuration for the local emulator: fixed region and dummy credentials, so
/// nothing on the machine (profiles, IMDS) is consulted.
pub async fn local_aws_config(endpoint: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "local");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

/// The emulator's endpoint for local runs and tests: `AWS_ENDPOINT_URL`, else the local
/// stack's default port.
pub fn local_endpoint() -> String {
    optional("AWS_ENDPOINT_URL").unwrap_or_else(|| "http://127.0.0.1:4566".to_string())
}
