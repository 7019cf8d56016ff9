//! An SDK interceptor that counts requests by operation, and one that injects faults.
//!
//! Counting is how the request budgets (a dial, a webhook, an import) are measured: the real
//! client, against the real emulator, with this interceptor added to its config.
//! Fault injection wraps the real client the same way: it rewrites what the emulator answered
//! (a throttling error, UnprocessedItems, a transaction conflict) for the operations and
//! number of times a test chooses, because moto never produces these on its own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Counts requests per operation name (e.g. "TransactWriteItems").
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

fn operation_name(cfg: &ConfigBag) -> String {
    cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
        .map(|m| m.name().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    // Counted per HTTP request sent (SDK retries included), when the operation is known.
    fn read_before_transmit(
        &self,
        _ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = operation_name(cfg);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(op).or_default() += 1;
        Ok(())
    }
}

/// A fault to inject.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer the operation with a throttling error; the request never reaches the emulator.
    Throttle,
    /// Answer TransactWriteItems with a TransactionConflict cancellation; nothing is applied.
    TransactionConflict,
    /// BatchWriteItem: send only the first `keep` items of the request to the emulator and
    /// answer with the rest as UnprocessedItems (what DynamoDB does under load).
    Unprocessed { keep: usize },
}

#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    fault: Fault,
    remaining: u32,
    /// Inject into this share of the operation's requests (0..=1) instead of the next `remaining`.
    rate: Option<f64>,
}

/// A capacity: requests of `operation` beyond `capacity` in flight at once are throttled.
#[derive(Debug, Clone)]
struct Capacity {
    operation: String,
    capacity: usize,
    in_flight: usize,
}

/// Injects faults into chosen operations, a chosen number of times.
#[derive(Debug, Clone, Default)]
pub struct FaultInjector {
    rules: Arc<Mutex<Vec<Rule>>>,
    capacity: Arc<Mutex<Option<Capacity>>>,
    injected: Arc<Mutex<u64>>,
}

/// Marks an attempt that holds a place in the capacity until it ends.
#[derive(Debug, Clone)]
struct InFlight;

impl aws_smithy_types::config_bag::Storable for InFlight {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

#[derive(Debug, Clone)]
struct Pending(Fault, Option<String>);

impl aws_smithy_types::config_bag::Storable for Pending {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl FaultInjector {
    pub fn add(&self, operation: &str, fault: Fault, times: u32) {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).push(Rule { operation: operation.to_string(), fault, remaining: times, rate: None });
    }

    /// Inject `fault` into a random share `rate` (0..=1) of the operation's requests, until
    /// removed by `clear` (a steady fault rate, for figures).
    pub fn add_rate(&self, operation: &str, fault: Fault, rate: f64) {
        let rule = Rule { operation: operation.to_string(), fault, remaining: u32::MAX, rate: Some(rate.clamp(0.0, 1.0)) };
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).push(rule);
    }

    /// Answer the operation's requests with a throttling error while `capacity` of them are
    /// already in flight (at the emulator) at once, until `clear`: a table or partition that
    /// takes so many requests and throttles the rest (by Little's law, requests in flight are
    /// the throughput times the latency). An attempt cancelled mid-flight keeps its place.
    pub fn limit_in_flight(&self, operation: &str, capacity: usize) {
        *self.capacity.lock().unwrap_or_else(|p| p.into_inner()) = Some(Capacity { operation: operation.to_string(), capacity, in_flight: 0 });
    }

    /// Remove every rule and the capacity.
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clear();
        *self.capacity.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u64 {
        *self.injected.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, op: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let rule = rules.iter_mut().find(|r| r.operation == op && r.remaining > 0)?;
        if let Some(rate) = rule.rate {
            if rand::random::<f64>() >= rate {
                return None;
            }
        } else {
            rule.remaining -= 1;
        }
        *self.injected.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Some(rule.fault.clone())
    }

    /// `Some(Throttle)` when the capacity for `op` is full; otherwise takes a place in it
    /// (`true` in the second field) when there is a capacity for `op`.
    fn admit(&self, op: &str) -> (Option<Fault>, bool) {
        let mut cap = self.capacity.lock().unwrap_or_else(|p| p.into_inner());
        let Some(c) = cap.as_mut().filter(|c| c.operation == op) else { return (None, false) };
        if c.in_flight >= c.capacity {
            *self.injected.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            return (Some(Fault::Throttle), false);
        }
        c.in_flight += 1;
        (None, true)
    }

    fn leave(&self) {
        if let Some(c) = self.capacity.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }
}

fn body_json(bytes: Option<&[u8]>) -> Option<serde_json::Value> {
    serde_json::from_slice(bytes?).ok()
}

impl Intercept for FaultInjector {
    fn name(&self) -> &'static str {
        "FaultInjector"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = operation_name(cfg);
        let fault = match self.take(&op) {
            Some(f) => f,
            None => match self.admit(&op) {
                (Some(f), _) => f,
                (None, placed) => {
                    if placed {
                        cfg.interceptor_state().store_put(InFlight);
                    }
                    return Ok(());
                }
            },
        };
        let req = ctx.request_mut();
        match &fault {
            Fault::Throttle | Fault::TransactionConflict => {
                // Turn the request into a harmless read so the emulator applies nothing; the
                // response is replaced below.
                req.headers_mut().insert("x-amz-target", "DynamoDB_20120810.ListTables");
                req.headers_mut().insert("content-length", "2");
                *req.body_mut() = aws_smithy_types::body::SdkBody::from("{}");
                cfg.interceptor_state().store_put(Pending(fault, None));
            }
            Fault::Unprocessed { keep } => {
                let Some(mut json) = body_json(req.body().bytes()) else { return Ok(()) };
                let mut left_out = serde_json::Map::new();
                if let Some(items) = json.get_mut("RequestItems").and_then(|v| v.as_object_mut()) {
                    for (table, reqs) in items.iter_mut() {
                        if let Some(arr) = reqs.as_array_mut()
                            && arr.len() > *keep
                        {
                            let rest: Vec<serde_json::Value> = arr.split_off(*keep);
                            left_out.insert(table.clone(), serde_json::Value::Array(rest));
                        }
                    }
                }
                let unprocessed = serde_json::Value::Object(left_out).to_string();
                let body = json.to_string();
                req.headers_mut().insert("content-length", body.len().to_string());
                *req.body_mut() = aws_smithy_types::body::SdkBody::from(body);
                cfg.interceptor_state().store_put(Pending(fault, Some(unprocessed)));
            }
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Pending(fault, extra)) = cfg.load::<Pending>().cloned() else { return Ok(()) };
        cfg.interceptor_state().unset::<Pending>();
        let resp = ctx.response_mut();
        let (status, body) = match fault {
            Fault::Throttle => (
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput (injected)"}"#.to_string(),
            ),
            Fault::TransactionConflict => (
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None, None] (injected)","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"},{"Code":"None"}]}"#.to_string(),
            ),
            Fault::Unprocessed { .. } => (200, format!(r#"{{"UnprocessedItems":{}}}"#, extra.unwrap_or_else(|| "{}".into()))),
        };
        *resp.status_mut() = aws_smithy_runtime_api::http::StatusCode::try_from(status).map_err(|e| BoxError::from(e.to_string()))?;
        resp.headers_mut().insert("content-length", body.len().to_string());
        *resp.body_mut() = aws_smithy_types::body::SdkBody::from(body);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _ctx: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<InFlight>().is_some() {
            cfg.interceptor_state().unset::<InFlight>();
            self.leave();
        }
        Ok(())
    }
}

/// A DynamoDB client for the local stack (dynoxide) with the interceptors added to the given
/// base config (tests and figures).
pub fn instrumented_dynamodb(
    sdk: &aws_config::SdkConfig,
    counter: Option<RequestCounter>,
    faults: Option<FaultInjector>,
) -> aws_sdk_dynamodb::Client {
    // The local DynamoDB (dynoxide), as `config::local_dynamodb_client`: the base config's
    // endpoint is moto's, which must not serve DynamoDB (its transactions are not atomic under
    // concurrency, and its memory grows with every table).
    let mut b = aws_sdk_dynamodb::config::Builder::from(sdk).endpoint_url(crate::config::local_dynamodb_endpoint());
    if let Some(c) = counter {
        b = b.interceptor(c);
    }
    if let Some(f) = faults {
        b = b.interceptor(f);
    }
    aws_sdk_dynamodb::Client::from_conf(b.build())
}
