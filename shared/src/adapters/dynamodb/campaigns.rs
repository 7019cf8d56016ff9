//! Campaign items (create, read, list by owner, state transitions, delete), agents and the
//! create routes' idempotency records.

use aws_sdk_dynamodb::types::ReturnValue;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{RepoError, classify};
use super::keys::*;
use super::records::{AgentRecord, CampaignRecord, attr, from_ms, parse_item, to_ms};
use super::{Repo, n, s};
use crate::domain::{AgentSnapshot, Campaign, CampaignState};

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
        Ok(self.get_record::<CampaignRecord>(campaign_pk(id), META.to_string()).await?.map(Campaign::from))
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
        } else if matches!(to, CampaignState::Running | CampaignState::Pending) {
            // Resumed: why it had stopped no longer holds, and the circuit breaker starts over.
            remove.push("#reason");
            remove.push("#cbn");
            req = req
                .expression_attribute_names("#reason", attr::FAILURE_REASON)
                .expression_attribute_names("#cbn", attr::CB_FAILURES);
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

/// A page of results and the cursor of the next one.
pub type Page<T> = (Vec<T>, Option<String>);

/// The longest page a list returns.
pub const MAX_PAGE: u32 = 100;

/// An agent as stored: the snapshot a campaign takes, its owner and creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAgent {
    pub agent: AgentSnapshot,
    pub owner: String,
    pub created_at: DateTime<Utc>,
}

/// A create request's idempotency record, under `U#<owner>` / `IDEM#<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub owner: String,
    pub key: String,
    /// A digest of the request, so a key reused for a different request is told apart.
    pub fingerprint: String,
    /// The campaign id chosen for the first request.
    pub campaign_id: String,
    /// Set once the first request finished: the status and JSON body it returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    pub created_ms: i64,
    /// Epoch seconds: DynamoDB's TTL deletes the record some time after this.
    pub ttl: i64,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or its old record expired): this request goes ahead.
    Claimed,
    /// An earlier request holds the key.
    Existing(Box<IdempotencyRecord>),
}

/// Cursors are opaque to clients: base64url of the gsi1 sort key of the last item returned.
fn encode_cursor(sort_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sort_key)
}

/// `None` for a cursor this code did not make.
fn decode_cursor(cursor: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (ms, id) = s.split_once('#')?;
    let ok = ms.len() == 15
        && ms.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(s)
}

impl Repo {
    /// The owner's campaigns, newest first, optionally only those in `state`. `Err(NotFound)`
    /// for a cursor that was not made here. The next cursor is `None` on the last page.
    pub async fn list_campaigns(
        &self,
        owner: &str,
        state: Option<CampaignState>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Campaign>, RepoError> {
        let limit = limit.clamp(1, MAX_PAGE) as usize;
        let mut start: Option<String> = match cursor {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or(RepoError::NotFound)?),
        };
        let mut out: Vec<(String, Campaign)> = Vec::with_capacity(limit);
        // A state filter is applied after DynamoDB's Limit, so a page may come back short:
        // keep reading, but not forever (a user with thousands of campaigns in other states).
        for _round in 0..20 {
            let want = limit - out.len();
            let page_limit = if state.is_some() { (want * 4).clamp(25, 200) } else { want };
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#gpk = :gpk")
                .expression_attribute_names("#gpk", GSI1_PK)
                .expression_attribute_values(":gpk", s(user_pk(owner)))
                .scan_index_forward(false)
                .limit(page_limit as i32);
            if let Some(st) = state {
                req = req
                    .filter_expression("#state = :state")
                    .expression_attribute_names("#state", attr::STATE)
                    .expression_attribute_values(":state", s(st.as_str()));
            }
            if let Some(sk) = &start {
                let id = sk.split_once('#').map(|(_, id)| id).unwrap_or_default();
                req = req
                    .exclusive_start_key(PK, s(campaign_pk(id)))
                    .exclusive_start_key(SK, s(META))
                    .exclusive_start_key(GSI1_PK, s(user_pk(owner)))
                    .exclusive_start_key(GSI1_SK, s(sk.clone()));
            }
            let page = req.send().await.map_err(classify)?;
            for item in page.items.unwrap_or_default() {
                let rec: CampaignRecord = parse_item(item)?;
                let sk = rec.gsi1sk.clone();
                out.push((sk, rec.into()));
            }
            let last_evaluated = page
                .last_evaluated_key
                .as_ref()
                .and_then(|k| k.get(GSI1_SK))
                .and_then(|v| v.as_s().ok())
                .cloned();
            if out.len() >= limit {
                // More follow when DynamoDB stopped early or this round read past the page (a
                // filtered round reads several items per match). Decided before the cut: after
                // it the length is always `limit`, and the cut matches were lost with no cursor.
                let more = last_evaluated.is_some() || out.len() > limit;
                out.truncate(limit);
                let next = if more { out.last().map(|(sk, _)| encode_cursor(sk)) } else { None };
                return Ok((out.into_iter().map(|(_, c)| c).collect(), next));
            }
            match last_evaluated {
                None => return Ok((out.into_iter().map(|(_, c)| c).collect(), None)),
                Some(sk) => start = Some(sk),
            }
        }
        let next = start.map(|sk| encode_cursor(&sk));
        Ok((out.into_iter().map(|(_, c)| c).collect(), next))
    }

    /// Delete the campaign item if `owner` owns it, its state is one of `from` and no call is
    /// in flight (`c_calling = 0`: a call's outcome must have its campaign to land in).
    /// `Conflict` otherwise (missing, another owner's, a state that forbids it, calls in flight).
    pub async fn delete_campaign_item(&self, owner: &str, id: &str, from: &[CampaignState]) -> Result<(), RepoError> {
        let mut cond = String::from(
            "attribute_exists(#pk) AND #owner = :owner AND (attribute_not_exists(#calling) OR #calling = :zero) AND #state IN (",
        );
        let mut req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(id)))
            .key(SK, s(META))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#calling", attr::C_CALLING)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":owner", s(owner));
        for (i, st) in from.iter().enumerate() {
            if i > 0 {
                cond.push_str(", ");
            }
            let k = format!(":from{i}");
            cond.push_str(&k);
            req = req.expression_attribute_values(k, s(st.as_str()));
        }
        cond.push(')');
        req.condition_expression(cond).send().await.map_err(classify)?;
        Ok(())
    }

    /// Record where the campaign's file was (or will be) uploaded.
    pub async fn set_upload_key(&self, owner: &str, id: &str, key: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(id)))
            .key(SK, s(META))
            .update_expression("SET #key = :key, #updated = :now")
            .condition_expression("attribute_exists(#pk) AND #owner = :owner")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#key", attr::UPLOAD_KEY)
            .expression_attribute_names("#updated", attr::UPDATED_MS)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":key", s(key))
            .expression_attribute_values(":now", n(to_ms(now)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    // ---- agents ----

    /// Store a new agent; `Conflict` if the id is taken.
    pub async fn put_agent(&self, owner: &str, agent: &AgentSnapshot, now: DateTime<Utc>) -> Result<(), RepoError> {
        let rec = AgentRecord {
            pk: user_pk(owner),
            sk: agent_sk(&agent.id),
            entity: "agent".into(),
            id: agent.id.clone(),
            owner: owner.to_string(),
            name: agent.name.clone(),
            prompt_text: agent.prompt_text.clone(),
            created_ms: to_ms(now),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(serde_dynamo::to_item(rec)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// One of the owner's agents; another owner's agent is `None`, as if it did not exist.
    pub async fn get_agent(&self, owner: &str, id: &str) -> Result<Option<StoredAgent>, RepoError> {
        Ok(self.get_record(user_pk(owner), agent_sk(id)).await?.map(stored_agent))
    }

    /// The owner's agents, oldest first, paginated like campaigns (cursor = last agent id).
    pub async fn list_agents(&self, owner: &str, limit: u32, cursor: Option<&str>) -> Result<Page<StoredAgent>, RepoError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(user_pk(owner)))
            .expression_attribute_values(":prefix", s(AGENT_PREFIX))
            .limit(limit as i32);
        if let Some(c) = cursor {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c.trim()).map_err(|_| RepoError::NotFound)?;
            let id = String::from_utf8(raw).map_err(|_| RepoError::NotFound)?;
            if id.is_empty() || id.len() > 64 {
                return Err(RepoError::NotFound);
            }
            req = req.exclusive_start_key(PK, s(user_pk(owner))).exclusive_start_key(SK, s(agent_sk(&id)));
        }
        let page = req.send().await.map_err(classify)?;
        let mut agents = Vec::new();
        for item in page.items.unwrap_or_default() {
            agents.push(stored_agent(parse_item(item)?));
        }
        let next = match (&page.last_evaluated_key, agents.last()) {
            (Some(_), Some(last)) => Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&last.agent.id)),
            _ => None,
        };
        Ok((agents, next))
    }

    // ---- idempotency ----

    /// Claim `key` for a create request. The claim is a conditional put, so of two concurrent
    /// requests with the same key exactly one gets `Claimed`. An expired record (past its
    /// `ttl`, not yet swept by DynamoDB) counts as absent.
    pub async fn claim_idempotency(&self, rec: &IdempotencyRecord, now: DateTime<Utc>) -> Result<IdempotencyClaim, RepoError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(serde_dynamo::to_item(rec)?))
            .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await
            .map_err(classify);
        match put {
            Ok(_) => Ok(IdempotencyClaim::Claimed),
            Err(RepoError::Conflict) => match self.get_idempotency(&rec.owner, &rec.key).await? {
                Some(existing) => Ok(IdempotencyClaim::Existing(Box::new(existing))),
                // Released between our put and our read: the caller may try again.
                None => Err(RepoError::Conflict),
            },
            Err(e) => Err(e),
        }
    }

    pub async fn get_idempotency(&self, owner: &str, key: &str) -> Result<Option<IdempotencyRecord>, RepoError> {
        self.get_record(user_pk(owner), idem_sk(key)).await
    }

    /// Store the first request's response on its claim.
    pub async fn complete_idempotency(&self, owner: &str, key: &str, status: u16, body: &str) -> Result<(), RepoError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(owner)))
            .key(SK, s(idem_sk(key)))
            .update_expression("SET #status = :status, #body = :body")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#status", "response_status")
            .expression_attribute_names("#body", "response_body")
            .expression_attribute_values(":status", n(status))
            .expression_attribute_values(":body", s(body))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Drop a claim whose request failed before creating anything, so a corrected retry can
    /// use the same key.
    pub async fn release_idempotency(&self, owner: &str, key: &str) -> Result<(), RepoError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(owner)))
            .key(SK, s(idem_sk(key)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

fn stored_agent(r: AgentRecord) -> StoredAgent {
    let created_at = from_ms(r.created_ms);
    let owner = r.owner.clone();
    StoredAgent { agent: r.into(), owner, created_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let sk = owner_sort(1_700_000_000_000, "0190abcdef");
        assert_eq!(decode_cursor(&encode_cursor(&sk)).as_deref(), Some(sk.as_str()));
        for junk in ["", "!!!", "bm90IGEgY3Vyc29y", &encode_cursor("123#abc"), &encode_cursor("000000000000001#a b")] {
            assert_eq!(decode_cursor(junk), None, "{junk}");
        }
    }
}
