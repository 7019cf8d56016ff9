//! `template.yaml` (what is deployed) against the Rust side (what the code and the local stack
//! use). Fails when either drifts:
//! - the table's keys, attribute definitions, indexes (names, key schema, projection) and TTL
//!   attribute equal `shared::adapters::dynamodb::{keys, schema}`, both as constants and as the
//!   table `schema::ensure_table` really creates on the emulator;
//! - every environment variable the template sets is one the code reads (and one of the names
//!   the team fixed), and every variable the code `required(...)`s is set by the template;
//! - the deployment rules of issue 6 that a typo would silently break (binaries, queue
//!   visibility vs. dialer timeout, open routes, no `*` resources, the secret's reader);
//! - the dashboard's serving and sign-in (docs/dashboard.md): a private bucket behind CloudFront,
//!   a public Cognito client with the code flow whose tokens the authorizer accepts, and the
//!   outputs infra/deploy-web.sh reads.

mod common;

use serde_json::{Map, Value, json};
use shared::adapters::dynamodb::{keys, schema};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// template.yaml as JSON, with CloudFormation short forms turned into their long forms
/// (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` ->
/// `{"Fn::Sub": s}`), so the tags never break the parse.
fn template() -> Value {
    let path = root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse template.yaml: {e}"));
    to_json(yaml)
}

fn to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml::to_string(&other).unwrap_or_default().trim().to_string(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let name = if tag == "Ref" { "Ref".to_string() } else { format!("Fn::{tag}") };
            let inner = match (tag, to_json(tagged.value)) {
                ("GetAtt", Value::String(s)) => {
                    Value::Array(s.splitn(2, '.').map(|p| Value::String(p.to_string())).collect())
                }
                (_, other) => other,
            };
            json!({ name: inner })
        }
    }
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

fn table_props(t: &Value) -> &Value {
    let tables = resources_of_type(t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "the design has exactly one DynamoDB table, the template has {}", tables.len());
    &tables[0].1["Properties"]
}

/// The table as a comparable shape: (hash, range), {attr: type}, {index: (hash, range, projection)}, ttl.
#[derive(Debug, PartialEq, Eq)]
struct TableShape {
    key: (String, String),
    attributes: BTreeMap<String, String>,
    indexes: BTreeMap<String, (String, String, String)>,
    ttl: Option<String>,
}

fn key_pair(schema: &Value, what: &str) -> (String, String) {
    let elems = schema.as_array().unwrap_or_else(|| panic!("{what}: KeySchema is not a list"));
    let find = |kt: &str| {
        elems
            .iter()
            .find(|e| e["KeyType"] == kt)
            .and_then(|e| e["AttributeName"].as_str())
            .unwrap_or_else(|| panic!("{what}: no {kt} key"))
            .to_string()
    };
    assert_eq!(elems.len(), 2, "{what}: expected a HASH and a RANGE key");
    (find("HASH"), find("RANGE"))
}

fn template_shape(t: &Value) -> TableShape {
    let p = table_props(t);
    let attributes = p["AttributeDefinitions"]
        .as_array()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| (a["AttributeName"].as_str().expect("name").to_string(), a["AttributeType"].as_str().expect("type").to_string()))
        .collect();
    let indexes = p["GlobalSecondaryIndexes"]
        .as_array()
        .map(|v| v.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|g| {
            let name = g["IndexName"].as_str().expect("IndexName").to_string();
            let (h, r) = key_pair(&g["KeySchema"], &name);
            let proj = g["Projection"]["ProjectionType"].as_str().unwrap_or("<none>").to_string();
            (name, (h, r, proj))
        })
        .collect();
    let ttl = p["TimeToLiveSpecification"]
        .as_object()
        .filter(|s| s.get("Enabled") == Some(&Value::Bool(true)))
        .and_then(|s| s.get("AttributeName"))
        .and_then(Value::as_str)
        .map(str::to_string);
    TableShape { key: key_pair(&p["KeySchema"], "table"), attributes, indexes, ttl }
}

/// What `shared::adapters::dynamodb::schema` defines (every key attribute is a string, every
/// index projects ALL, as `schema::ensure_table` builds them).
fn rust_shape() -> TableShape {
    let mut attributes = BTreeMap::new();
    for a in [keys::PK, keys::SK] {
        attributes.insert(a.to_string(), "S".to_string());
    }
    let mut indexes = BTreeMap::new();
    for (name, pk, sk) in schema::INDEXES {
        attributes.insert(pk.to_string(), "S".to_string());
        attributes.insert(sk.to_string(), "S".to_string());
        indexes.insert(name.to_string(), (pk.to_string(), sk.to_string(), "ALL".to_string()));
    }
    TableShape { key: (keys::PK.to_string(), keys::SK.to_string()), attributes, indexes, ttl: Some(keys::TTL.to_string()) }
}

#[test]
fn table_matches_rust_schema() {
    let t = template();
    assert_eq!(template_shape(&t), rust_shape(), "template.yaml's table (left) differs from shared::adapters::dynamodb::schema (right)");
    let p = table_props(&t);
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "on-demand");
    assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true, "PITR");
    assert!(!p["DeletionProtectionEnabled"].is_null(), "deletion protection must be set (from a parameter)");
}

/// The table `schema::ensure_table` really creates (on the emulator) has the template's shape:
/// catches a drift inside `ensure_table` (a projection, a key type) that the constants hide.
#[tokio::test]
async fn created_table_matches_template() {
    let repo = common::fresh_repo().await;
    let client = repo.client();
    let out = client.describe_table().table_name(repo.table()).send().await.expect("describe the created table");
    let d = out.table().expect("table description");
    let key_of = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement], what: &str| -> (String, String) {
        let get = |kt: aws_sdk_dynamodb::types::KeyType| {
            ks.iter()
                .find(|k| *k.key_type() == kt)
                .map(|k| k.attribute_name().to_string())
                .unwrap_or_else(|| panic!("{what}: missing {kt:?} key"))
        };
        assert_eq!(ks.len(), 2, "{what}: expected a HASH and a RANGE key");
        (get(aws_sdk_dynamodb::types::KeyType::Hash), get(aws_sdk_dynamodb::types::KeyType::Range))
    };
    let attributes = d
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_string(), a.attribute_type().as_str().to_string()))
        .collect();
    let indexes = d
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            let name = g.index_name().unwrap_or_default().to_string();
            let (h, r) = key_of(g.key_schema(), &name);
            let proj = g
                .projection()
                .and_then(|p| p.projection_type())
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "<none>".to_string());
            (name, (h, r, proj))
        })
        .collect();
    let ttl = client
        .describe_time_to_live()
        .table_name(repo.table())
        .send()
        .await
        .ok()
        .and_then(|o| o.time_to_live_description().and_then(|d| d.attribute_name().map(str::to_string)));
    let created = TableShape { key: key_of(d.key_schema(), "table"), attributes, indexes, ttl };
    assert_eq!(created, template_shape(&template()), "the table ensure_table creates (left) differs from template.yaml (right)");
}

/// The environment variable names the team fixed (what the template may set).
const KNOWN_ENV: &[&str] = &[
    "TABLE_NAME",
    "BUCKET_NAME",
    "DIAL_QUEUE_URL",
    "SCHEDULE_GROUP",
    "SCHEDULER_ROLE_ARN",
    "DIALER_FUNCTION_ARN",
    "PUBLIC_BASE_URL",
    "VOICE_GATEWAY_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_FROM_NUMBER",
    "TWILIO_SECRET_ARN",
    "TWILIO_API_BASE",
    "OPTOUT_SECRET_ARN",
    "ACCOUNT_CALLS_PER_SECOND",
    "RUST_LOG",
    "AWS_LAMBDA_LOG_FORMAT",
];

/// Read by a library rather than by name in our code: (variable, evidence in our code that the
/// library reads it).
const READ_BY_LIBRARY: &[(&str, &str)] = &[("RUST_LOG", "from_default_env")];

/// Names the code may require only off AWS (local runs, the dev server, tests): on AWS they are
/// replaced by something the template provides.
const LOCAL_ONLY: &[(&str, &str)] = &[
    ("TWILIO_AUTH_TOKEN", "on AWS the token comes from the secret named by TWILIO_SECRET_ARN"),
    ("OPTOUT_SECRET", "on AWS the opt-out key comes from the secret named by OPTOUT_SECRET_ARN"),
    ("AWS_ENDPOINT_URL", "the local emulator"),
    ("AWS_ENDPOINT_URL_DYNAMODB", "the local DynamoDB (dynoxide); unset on AWS"),
    ("LOCAL_DYNAMODB_PORT", "the local DynamoDB's port"),
    ("LOCAL_AWS_PORT", "the local stack's port"),
    ("LOCAL_JWT_SECRET", "the dev server's HS256 tokens; on AWS the JWT authorizer verifies"),
];

/// Every Rust source of what runs on Lambda: the shared library and the three functions.
fn lambda_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    out.push((p, text));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("shared/src"), &mut out);
    for f in ["api", "ingest", "dialer"] {
        walk(&root().join("functions").join(f).join("src"), &mut out);
    }
    assert!(!out.is_empty(), "no Rust sources found under shared/src and functions/*/src");
    out
}

fn env_of(v: &Value) -> BTreeSet<String> {
    v["Environment"]["Variables"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// (function logical id, its properties) for every AWS::Serverless::Function.
fn functions(t: &Value) -> Vec<(&str, &Value)> {
    resources_of_type(t, "AWS::Serverless::Function").into_iter().map(|(id, r)| (id, &r["Properties"])).collect()
}

fn template_env(t: &Value) -> BTreeMap<String, Vec<String>> {
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in env_of(&t["Globals"]["Function"]) {
        by_name.entry(name).or_default().push("Globals".into());
    }
    for (id, props) in functions(t) {
        for name in env_of(props) {
            by_name.entry(name).or_default().push(id.to_string());
        }
    }
    by_name
}

#[test]
fn template_env_vars_are_read_by_the_code() {
    let t = template();
    let sources = lambda_sources();
    let all: String = sources.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>().join("\n");
    let mut problems = Vec::new();
    for (name, set_by) in template_env(&t) {
        if !KNOWN_ENV.contains(&name.as_str()) {
            problems.push(format!("{name} (set by {set_by:?}) is not one of the names the team fixed"));
            continue;
        }
        let read = all.contains(&format!("\"{name}\""))
            || READ_BY_LIBRARY.iter().any(|(n, evidence)| *n == name && all.contains(evidence));
        if !read {
            problems.push(format!("{name} (set by {set_by:?}) is read nowhere in shared/src or functions/*/src"));
        }
    }
    assert!(problems.is_empty(), "template.yaml sets environment variables the code does not read:\n  {}", problems.join("\n  "));
}

#[test]
fn variables_the_code_requires_are_set_by_the_template() {
    let t = template();
    let set = template_env(&t);
    let mut problems = Vec::new();
    for (path, text) in lambda_sources() {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("required(\"") {
            rest = &rest[i + "required(\"".len()..];
            let name = &rest[..rest.find('"').unwrap_or(0)];
            if name.is_empty() || set.contains_key(name) || LOCAL_ONLY.iter().any(|(n, _)| *n == name) {
                continue;
            }
            problems.push(format!("{name} (required in {})", path.strip_prefix(root()).unwrap_or(&path).display()));
        }
    }
    assert!(
        problems.is_empty(),
        "the code requires environment variables template.yaml never sets (the function would fail at start-up on AWS):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn functions_are_built_from_the_workspace_crates() {
    let t = template();
    let mut binaries = BTreeSet::new();
    for (id, r) in resources_of_type(&t, "AWS::Serverless::Function") {
        assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}: BuildMethod");
        let bin = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_else(|| panic!("{id}: no Binary"));
        assert!(
            root().join("functions").join(bin).join("src/main.rs").is_file(),
            "{id}: Binary {bin} is not a crate under functions/ (crate = binary = SAM Binary)"
        );
        binaries.insert(bin.to_string());
    }
    let g = &t["Globals"]["Function"];
    assert_eq!(g["Runtime"], "provided.al2023");
    assert_eq!(g["Handler"], "bootstrap");
    assert_eq!(g["Architectures"], json!(["x86_64"]));
    assert_eq!(g["CodeUri"], "./");
    assert_eq!(binaries, ["api", "dialer", "ingest"].into_iter().map(String::from).collect());
}

fn function_by_binary<'a>(t: &'a Value, bin: &str) -> (&'a str, &'a Value) {
    resources_of_type(t, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, r)| r["Metadata"]["BuildProperties"]["Binary"] == bin)
        .map(|(id, r)| (id, &r["Properties"]))
        .unwrap_or_else(|| panic!("no function with Binary {bin}"))
}

#[test]
fn dial_queue_outlives_the_dialer_and_reports_item_failures() {
    let t = template();
    let (dialer_id, dialer) = function_by_binary(&t, "dialer");
    let timeout = dialer["Timeout"].as_i64().expect("dialer Timeout is a literal");
    let mappings: Vec<_> = resources_of_type(&t, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .filter(|(_, m)| m["Properties"]["FunctionName"] == json!({"Ref": dialer_id}))
        .collect();
    assert_eq!(mappings.len(), 1, "the dialer has one SQS event source mapping");
    let m = &mappings[0].1["Properties"];
    assert_eq!(m["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    let queue_id = m["EventSourceArn"]["Fn::GetAtt"][0].as_str().expect("EventSourceArn: !GetAtt Queue.Arn");
    let q = &t["Resources"][queue_id]["Properties"];
    let visibility = q["VisibilityTimeout"].as_i64().expect("VisibilityTimeout literal");
    assert!(visibility >= 6 * timeout, "{queue_id} VisibilityTimeout {visibility} < 6 x dialer Timeout {timeout}");
    assert!(q["RedrivePolicy"]["deadLetterTargetArn"].is_object(), "{queue_id} needs a redrive policy to a DLQ");
}

#[test]
fn only_health_twilio_and_opt_out_routes_are_open() {
    let t = template();
    for (id, r) in resources_of_type(&t, "AWS::ApiGatewayV2::Route") {
        let key = r["Properties"]["RouteKey"].as_str().expect("RouteKey");
        let path = key.split_whitespace().nth(1).unwrap_or(key);
        let open = path == "/health" || path.starts_with("/twilio/") || key == "POST /dnc/opt-out";
        let auth = r["Properties"]["AuthorizationType"].as_str().unwrap_or("NONE");
        assert_eq!(auth, if open { "NONE" } else { "JWT" }, "{id} ({key})");
    }
}

#[test]
fn no_wildcard_resources_and_the_secret_has_its_readers_only() {
    let t = template();
    for (id, props) in functions(&t) {
        let reads_secret = env_of(props).contains("TWILIO_SECRET_ARN");
        let reads_optout = env_of(props).contains("OPTOUT_SECRET_ARN");
        let mut grants_secret = false;
        let mut grants_optout = false;
        for policy in props["Policies"].as_array().map(|v| v.as_slice()).unwrap_or_default() {
            for st in policy["Statement"].as_array().map(|v| v.as_slice()).unwrap_or_default() {
                let actions: Vec<&str> = match &st["Action"] {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                let resources = match &st["Resource"] {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                let guarded = actions.iter().any(|a| ["dynamodb:", "s3:", "sqs:", "scheduler:", "secretsmanager:"].iter().any(|p| a.starts_with(p)));
                if guarded {
                    assert!(!resources.iter().any(|r| r == "*"), "{id}: {actions:?} on Resource \"*\"");
                }
                if actions.contains(&"secretsmanager:GetSecretValue") {
                    if resources == vec![json!({"Ref": "OptOutSecretArn"})] {
                        grants_optout = true;
                    } else {
                        assert_eq!(resources, vec![json!({"Ref": "TwilioSecretArn"})], "{id}: a secret statement must name exactly one secret, the Twilio or the opt-out one");
                        grants_secret = true;
                    }
                }
            }
        }
        assert_eq!(reads_secret, grants_secret, "{id}: TWILIO_SECRET_ARN set = {reads_secret}, GetSecretValue granted = {grants_secret}");
        assert_eq!(reads_optout, grants_optout, "{id}: OPTOUT_SECRET_ARN set = {reads_optout}, GetSecretValue on it granted = {grants_optout}");
        if reads_secret {
            assert!(props["Layers"].as_array().is_some_and(|l| !l.is_empty()), "{id}: reads the secret through the extension layer, which it lacks");
        }
    }
}

/// The dashboard (docs/dashboard.md): static files in a bucket only CloudFront can read; a public
/// Cognito client (no secret: the page cannot keep one) with the authorization code flow only,
/// which PKCE protects, called back at the distribution's address; the API's authorizer accepts
/// its tokens; and every output infra/deploy-web.sh reads exists.
#[test]
fn dashboard_is_served_by_cloudfront_and_signs_in_with_the_code_flow() {
    let t = template();
    let r = &t["Resources"];
    let client = &r["WebUserPoolClient"]["Properties"];
    assert_eq!(client["GenerateSecret"], json!(false), "the dashboard's client must be public");
    assert_eq!(client["AllowedOAuthFlows"], json!(["code"]), "code flow only (no implicit)");
    assert_eq!(client["AllowedOAuthFlowsUserPoolClient"], json!(true));
    assert!(client["CallbackURLs"].to_string().contains("WebDistribution.DomainName"), "{}", client["CallbackURLs"]);
    let audience = r["HttpApiAuthorizer"]["Properties"]["JwtConfiguration"]["Audience"].to_string();
    assert!(audience.contains("WebUserPoolClient") && audience.contains("\"UserPoolClient\""), "the authorizer must accept both clients: {audience}");
    assert!(r["UserPoolDomain"].is_object(), "the hosted UI needs a domain");

    let block = &r["WebBucket"]["Properties"]["PublicAccessBlockConfiguration"];
    for k in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(block[k], json!(true), "WebBucket {k}");
    }
    let statements = r["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].as_array().expect("statements");
    let allows: Vec<&Value> = statements.iter().filter(|s| s["Effect"] == "Allow").collect();
    assert_eq!(allows.len(), 1, "one Allow: CloudFront reading objects");
    assert_eq!(allows[0]["Principal"], json!({"Service": "cloudfront.amazonaws.com"}));
    assert_eq!(allows[0]["Action"], json!("s3:GetObject"));
    assert!(allows[0]["Condition"].to_string().contains("WebDistribution"), "only this distribution");
    let dist = &r["WebDistribution"]["Properties"]["DistributionConfig"];
    assert!(dist["Origins"][0]["OriginAccessControlId"].is_object(), "origin access control, not a public bucket");
    assert_eq!(dist["DefaultCacheBehavior"]["ViewerProtocolPolicy"], json!("redirect-to-https"));
    assert_eq!(dist["DefaultRootObject"], json!("index.html"));
    // The deployed Content-Security-Policy is the dev server's (which the browser tests run
    // under) with the AWS origins in place of 127.0.0.1.
    let csp = r["WebResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"][0]
        .as_str()
        .expect("a CSP template string");
    let normalize = |p: &str| -> Vec<String> {
        p.split(';')
            .map(|d| d.split_whitespace().filter(|w| !w.contains("127.0.0.1") && !w.contains("localhost") && !w.contains("${")).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(normalize(csp), normalize(campaigns::web::DEV_CSP), "template CSP (left) vs dev server CSP (right)");
    assert!(dist["DefaultCacheBehavior"]["ResponseHeadersPolicyId"].to_string().contains("WebResponseHeadersPolicy"));

    let script = std::fs::read_to_string(root().join("infra/deploy-web.sh")).expect("infra/deploy-web.sh");
    let outputs = t["Outputs"].as_object().expect("Outputs");
    for name in ["ApiUrl", "DashboardUrl", "WebBucketName", "WebDistributionId", "AuthUrl", "WebUserPoolClientId"] {
        assert!(script.contains(&format!("output {name}")), "deploy-web.sh does not read {name}");
        assert!(outputs.contains_key(name), "template.yaml has no output {name}, which deploy-web.sh reads");
    }
}
