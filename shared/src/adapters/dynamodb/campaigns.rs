//! Campaign items: create, read, state transitions.

use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::error::{RepoError, classify};
use super::keys::*;
use super::records::{CampaignRecord, attr, parse_item, to_ms};
use super::{Repo, n, s};
use crate::domain::{Campaign, CampaignState};

impl Repo {
    /// Write a new campaign; fails with `Conflict` if the id exists.
    pub async fn put_new_campaign(&self, c: &Campaign) -> Result<(), RepoError> {
        let item = serde_dynamo::to_item(CampaignRecord::new_draft(c))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// A campaign by id, strongly consistent. `None` when it does not exist.
    pub async fn get_campaign(&self, id: &str) -> Result<Option<Campaign>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(id)))
            .key(SK, s(META))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        match out.item {
            None => Ok(None),
            Some(item) => Ok(Some(parse_item::<CampaignRecord>(item)?.into())),
        }
    }

    /// A campaign by id that belongs to `owner`; another owner's campaign is `None`, exactly
    /// as if it did not exist (invariant 9: no existence oracle).
    pub async fn get_owned_campaign(&self, owner: &str, id: &str) -> Result<Option<Campaign>, RepoError> {
        Ok(self.get_campaign(id).await?.filter(|c| c.owner == owner))
    }

    /// Move a campaign from one of `from` to `to`, conditionally. Keeps the active-campaign
    /// index in step with the state. Returns the campaign after the change; `Conflict` if the
    /// state was not one of `from` (or the owner differs).
    pub async fn transition(
        &self,
        owner: Option<&str>,
        id: &str,
        from: &[CampaignState],
        to: CampaignState,
        now: DateTime<Utc>,
        reason: Option<&str>,
    ) -> Result<Campaign, RepoError> {
        let mut set = vec!["#state = :to", "#updated = :now"];
        let mut remove: Vec<&str> = Vec::new();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(id)))
            .key(SK, s(META))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#updated", attr::UPDATED_MS)
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", n(to_ms(now)));
        if to.is_active() {
            set.push("#g2pk = :g2pk");
            set.push("#g2sk = :g2sk");
            req = req
                .expression_attribute_values(":g2pk", s(active_pk(id)))
                .expression_attribute_values(":g2sk", s(id));
        } else {
            remove.push("#g2pk");
            remove.push("#g2sk");
        }
        req = req.expression_attribute_names("#g2pk", GSI2_PK).expression_attribute_names("#g2sk", GSI2_SK);
        if to == CampaignState::Running {
            set.push("#started = if_not_exists(#started, :now)");
            req = req.expression_attribute_names("#started", attr::STARTED_MS);
        }
        if to == CampaignState::Completed {
            set.push("#completed = :now");
            req = req.expression_attribute_names("#completed", attr::COMPLETED_MS);
        }
        if let Some(reason) = reason {
            set.push("#reason = :reason");
            req = req
                .expression_attribute_names("#reason", attr::FAILURE_REASON)
                .expression_attribute_values(":reason", s(reason));
        }
        let mut cond = String::from("attribute_exists(#pk) AND #state IN (");
        for (i, st) in from.iter().enumerate() {
            if i > 0 {
                cond.push_str(", ");
            }
            let k = format!(":from{i}");
            cond.push_str(&k);
            req = req.expression_attribute_values(k, s(st.as_str()));
        }
        cond.push(')');
        if let Some(owner) = owner {
            cond.push_str(" AND #owner = :owner");
            req = req.expression_attribute_names("#owner", attr::OWNER).expression_attribute_values(":owner", s(owner));
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let out = req
            .expression_attribute_names("#pk", PK)
            .update_expression(expr)
            .condition_expression(cond)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(classify)?;
        let item = out.attributes.ok_or_else(|| RepoError::Corrupt("update returned no attributes".into()))?;
        Ok(parse_item::<CampaignRecord>(item)?.into())
    }
}
