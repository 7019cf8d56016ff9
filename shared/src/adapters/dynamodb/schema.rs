//! The table's definition, for the local stack and tests. `template.yaml` declares the same
//! table for AWS; `tests/tests/template_matches.rs` checks that the two agree.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use super::error::{RepoError, classify};
use super::keys::*;

/// (index name, partition key attribute, sort key attribute)
pub const INDEXES: [(&str, &str, &str); 3] = [(GSI1, GSI1_PK, GSI1_SK), (GSI2, GSI2_PK, GSI2_SK), (GSI3, GSI3_PK, GSI3_SK)];

fn key(name: &str, kt: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kt).build().expect("static key schema")
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("static attribute definition")
}

/// Create the table if it does not exist. Idempotent.
pub async fn ensure_table(client: &Client, table: &str) -> Result<(), RepoError> {
    if client.describe_table().table_name(table).send().await.is_ok() {
        return Ok(());
    }
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .attribute_definitions(attr(PK))
        .attribute_definitions(attr(SK));
    for (name, pk, sk) in INDEXES {
        req = req.attribute_definitions(attr(pk)).attribute_definitions(attr(sk)).global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash))
                .key_schema(key(sk, KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("static index"),
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) => {
            let already = e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception());
            if !already {
                return Err(classify(e));
            }
        }
    }
    // TTL is best effort locally (moto accepts it; expiry is not emulated).
    let _ = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(TimeToLiveSpecification::builder().attribute_name(TTL).enabled(true).build().expect("static ttl"))
        .send()
        .await;
    Ok(())
}
